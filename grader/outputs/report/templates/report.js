(function () {
  "use strict";
  // Printing shows everything: open each folded section before printing, fold it back after.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (section) {
      section.open = true;
      opened.push(section);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (section) { section.open = false; });
    opened = [];
  });
  document.documentElement.setAttribute("data-js", "ready");
})();
