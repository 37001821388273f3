(function () {
  "use strict";
  // Sortable tables without a library: a heading's button sorts its column; the order is kept in
  // the address (#sort=TABLE.COLUMN.asc|desc), so a reload or a shared link shows the same order.
  function key(cell, numeric) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (numeric) {
      var number = parseFloat(raw);
      return isNaN(number) ? -Infinity : number;
    }
    return raw.toLowerCase();
  }

  function compare(a, b) {
    if (typeof a === "number") { return a - b; }
    return a.localeCompare(b);
  }

  function sortBy(table, header, direction) {
    var index = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var keyed = Array.prototype.map.call(body.rows, function (row, position) {
      return { key: key(row.cells[index], numeric), position: position, row: row };
    });
    keyed.sort(function (a, b) { return direction * compare(a.key, b.key) || a.position - b.position; });
    keyed.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(header.parentNode.cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
  }

  function remember(table, header, direction) {
    var hash = "#sort=" + table.id + "." + header.getAttribute("data-key") + "." + (direction > 0 ? "asc" : "desc");
    try { history.replaceState(null, "", hash); } catch (ignored) { /* some file:// setups refuse */ }
  }

  function restore() {
    var match = /^#sort=([\w-]+)\.([\w-]+)\.(asc|desc)$/.exec(location.hash);
    if (!match) { return; }
    var table = document.getElementById(match[1]);
    if (!table || !table.classList.contains("sortable")) { return; }
    var header = table.tHead.querySelector('th[data-key="' + match[2] + '"]');
    if (header) { sortBy(table, header, match[3] === "asc" ? 1 : -1); }
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      var button = header.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var direction = header.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        sortBy(table, header, direction);
        remember(table, header, direction);
      });
    });
  });
  restore();
  window.addEventListener("hashchange", restore);
  document.documentElement.setAttribute("data-js", "ready");
})();
