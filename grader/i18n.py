"""One message catalogue, Japanese and English: every sentence the grader shows a person.

Each entry has a message and, where a student can act on it, a hint. The catalogue says them in
generic terms, so that any assignment reads well without more; an assignment's `messages.toml`
(`grader.spec.messages`) says some of them in its lesson's terms (the lesson's hints and ideas, its
class names), and `Messages(lang, overlay)` takes its texts first. `tests/test_i18n.py` walks the
catalogue and the bundled assignments' files: no entry may miss a language.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grader.spec.messages import MESSAGES_FILE, MessageOverlay

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")

# key -> {"ja", "en", and optionally "hint_ja", "hint_en"}
CATALOGUE: dict[str, dict[str, str]] = {
    # ---- reading the file --------------------------------------------------------------------
    "submission.not_found": {"ja": "ファイル {file} が見つかりません。", "en": "File {file} was not found."},
    "submission.too_large": {
        "ja": "{file} は {size_mb:.1f} MB あり、上限の {limit_mb:.0f} MB を超えています。出力を消してから保存し直してください。",
        "en": "{file} is {size_mb:.1f} MB, over the {limit_mb:.0f} MB limit. Clear the outputs and save it again.",
    },
    "submission.unknown_type": {
        "ja": "{file} は採点できる形式ではありません。.ipynb、.py、またはそれを含む .zip を提出してください。",
        "en": "{file} is not a file type the grader reads. Hand in a .ipynb, a .py, or a .zip holding one.",
    },
    "submission.empty": {"ja": "{file} は空です。", "en": "{file} is empty."},
    "submission.bad_json": {
        "ja": "{file} はノートブックとして読めません (JSON の {line} 行目 {column} 文字目が壊れています)。Jupyter で開き直して保存してください。",
        "en": "{file} cannot be read as a notebook (the JSON is broken at line {line}, column {column}). Open it in Jupyter and save it again.",
    },
    "submission.not_notebook": {
        "ja": "{file} は Jupyter ノートブックの形式ではありません。",
        "en": "{file} is not in Jupyter notebook format.",
    },
    "submission.no_code": {"ja": "{file} にコードセルがありません。", "en": "{file} has no code cells."},
    "submission.bad_encoding": {
        "ja": "{file} の文字コードが読めません。UTF-8 で保存し直してください。",
        "en": "The text encoding of {file} cannot be read. Save it again as UTF-8.",
    },
    "submission.binary": {
        "ja": "{file} は Python のソースではなくバイナリファイルのようです。",
        "en": "{file} looks like a binary file, not Python source.",
    },
    "submission.bad_zip": {"ja": "{file} は壊れた zip ファイルです。", "en": "{file} is a damaged zip file."},
    "submission.zip_empty": {
        "ja": "{file} の中に .ipynb も .py もありません。",
        "en": "{file} holds no .ipynb or .py file.",
    },
    "submission.zip_ambiguous": {
        "ja": "{file} には採点の対象になりうるファイルが複数あり、課題のクラスを定義している数も同じなので、どれを採点するか決められません: {files}。採点するファイルを 1 つだけ zip にするか、モデルのクラスを 1 つのファイルにまとめてください。",
        "en": "{file} holds several files the grader could grade, and none defines more of the assignment's classes than the others: {files}. Zip only the one to grade, or keep the model classes in one file.",
    },
    # ---- intake limits and notebook structure (issue 18, item 2: grader/submission.py) -------------
    "submission.zip_too_many": {
        "ja": "{file} には {limit} 個を超えるファイルやフォルダが入っています (上限は {limit} 個)。ノートブックかモジュールと、それが使うファイルだけを zip にしてください。",
        "en": "{file} holds more than {limit} files and folders (the limit is {limit}). Zip only the notebook or module and the files it needs.",
    },
    "submission.zip_too_large": {
        "ja": "{file} を展開すると {limit_mb} MB を超えます (展開後の合計の上限は {limit_mb} MB)。ノートブックかモジュールと、それが使うファイルだけを zip にしてください。",
        "en": "{file} unpacks to more than {limit_mb} MB (the limit for a zip's contents is {limit_mb} MB). Zip only the notebook or module and the files it needs.",
    },
    "submission.notebook_field": {
        "ja": "{file} は正しい Jupyter ノートブックではありません: {field} の型が正しくありません (JSON の {found})。Jupyter で開き直して保存してください。",
        "en": "{file} is not a valid Jupyter notebook: {field} has the wrong type (a JSON {found}). Open it in Jupyter and save it again.",
    },
    "submission.notebook_cell_type": {
        "ja": "{file} は正しい Jupyter ノートブックではありません: {field} に cell_type がありません。Jupyter で開き直して保存してください。",
        "en": "{file} is not a valid Jupyter notebook: {field} has no cell_type. Open it in Jupyter and save it again.",
    },
    "note.encoding": {
        "ja": "文字コードの宣言がないため {encoding} として読みました。UTF-8 で保存することをおすすめします。",
        "en": "No encoding was declared, so the file was read as {encoding}. Saving it as UTF-8 is recommended.",
    },
    # ---- running ----------------------------------------------------------------------------
    "run.timeout": {
        "ja": "実行が制限時間 {seconds:.0f} 秒を超えたため打ち切りました。それまでに得られた結果で採点しています。",
        "en": "The run went over its {seconds:.0f} s time limit and was stopped; it was graded on what was observed until then.",
    },
    "run.exited": {
        "ja": "提出コードの実行が途中で終了しました (終了コード {code})。それまでに得られた結果で採点しています。",
        "en": "The submission's process ended early (exit code {code}); it was graded on what was observed until then.",
    },
    "run.output_truncated": {
        "ja": "出力が多すぎたため、先頭の一部だけを残しました。",
        "en": "The output was too long; only its beginning was kept.",
    },
    "run.not_isolated": {
        "ja": "この実行はプロセス分離と時間制限のみで、サンドボックス (名前空間による隔離) は使われていません。",
        "en": "This run used a separate process and a time limit only, not a namespace sandbox.",
    },
    "run.duplicate_lines": {
        "ja": "採点用の観測データのうち {count} 行が重複していました。採点器は各行を一度しか書かないため、最初の行だけを使いました。",
        "en": "{count} line(s) of observations came twice; the harness writes each once, so only the first counted.",
    },
    "run.unexpected_capture": {
        "ja": "この課題では取り出さないモデル ({models}) のグラフが届きました。採点器はそれを書かないので、無視しました。",
        "en": "A graph came for models this assignment does not capture ({models}); the harness writes none, so it was ignored.",
    },
    "run.unexpected_training": {
        "ja": "採点器が自分で訓練するモデル ({models}) の訓練結果が届きました。採点器はそれを書かないので、無視しました。",
        "en": "Training results came for models the grader trains itself ({models}); the harness writes none, so they were ignored.",
    },
    "run.not_in_source": {
        "ja": "{model}: 受け取ったグラフは提出されたコードと一致しません ({detail})。このモデルは採点していません。",
        "en": "{model}: the graph received does not match the submitted code ({detail}); the model was not graded.",
    },
    "run.suspicious_constant": {
        "ja": "{model}: グラフの定数 {detail}。答えを含む可能性があるため、テストの評価は 0 点です。",
        "en": "{model}: the graph's constant {detail}; it may hold answers, so the test metric scores nothing.",
    },
    "run.seed_independent": {
        "ja": "{model}: パラメータ {names} の初期値がシードによらず同じです (学習済みの値かもしれません)。",
        "en": "{model}: the parameters {names} start from the same values under every seed (perhaps trained beforehand).",
    },
    "metric.suspicious_constant": {
        "ja": "グラフの定数 {detail}。答えを含む可能性があるため、この評価は 0 点です。",
        "en": "The graph's constant {detail}; it may hold answers, so this metric scores nothing.",
    },
    "run.malformed": {
        "ja": "採点用の観測データのうち {count} 行が不正な形式だったため無視しました。",
        "en": "{count} line(s) of observations were malformed and were ignored.",
    },
    "run.grader_fault": {
        "ja": "採点器の内部エラーで採点できませんでした: {error}",
        "en": "The grader failed internally and could not grade this submission: {error}",
    },
    # ---- the sandbox (issue 3) ----------------------------------------------------------------
    "run.memory": {
        "ja": "提出コードがメモリの上限 ({limit_mb} MB) を超えたため、実行を止めました。それまでに得られた結果で採点しています。",
        "en": "The submission used more than its {limit_mb} MB memory limit and was stopped; it was graded on what was observed until then.",
    },
    "run.memory_error": {
        "ja": "提出コードがメモリの上限を超える量を一度に確保しようとし、その確保は失敗しました。その処理を含むモデルは、その分の得点を失っています。",
        "en": "The submission tried to allocate more memory at once than its limit allows, and the allocation failed; the model doing it lost those checks.",
    },
    "run.cpu_time": {
        "ja": "提出コードが CPU 時間の上限 ({seconds:.0f} 秒) を使い切ったため、実行を止めました。それまでに得られた結果で採点しています。",
        "en": "The submission used up its CPU time limit ({seconds:.0f} s) and was stopped; it was graded on what was observed until then.",
    },
    "run.processes": {
        "ja": "提出コードがプロセス数の上限 ({limit}) を超えてプロセスやスレッドを作ろうとしたため、拒否しました。",
        "en": "The submission tried to start more processes or threads than its limit ({limit}) and was refused.",
    },
    "run.not_isolated_fallback": {
        "ja": "この実行は隔離されていません: この計算機ではサンドボックス (名前空間による隔離) が使えないため ({reason})、別プロセスと資源の上限・時間制限だけで実行しました。提出コードからは、権限で守られていないファイルが見えた可能性があります。",
        "en": "This run was not isolated: this machine gives no namespace sandbox ({reason}), so the submission ran as a separate process with resource and time limits only, and could see any file not protected by its permissions.",
    },
    "run.sandbox_failed": {
        "ja": "サンドボックスを起動できなかったため採点できませんでした (提出物の問題ではありません): {error}",
        "en": "The sandbox could not be started, so the submission was not graded (not a problem with the submission): {error}",
    },
    "metric.ignores_parameters": {
        "ja": "予測値がモデルのパラメータから計算されていません: 学習済みのパラメータを新しい乱数の値に置き換えても、予測が変わらないか満点のままでした (データを調べて答えを返しているなど)。この指標は 0 点です。",
        "en": "The predictions do not come from the model's parameters: with the trained parameters replaced by fresh random values the predictions stayed the same or still earned full credit (for example, the model looks the answers up). This metric scores zero.",
        "hint_ja": "forward では、入力 x から層 (self.l1 など) を通して出力を計算してください。データや正解を保存して返してはいけません。",
        "hint_en": "forward must compute its output from the input x through the layers (self.l1 and so on), never return stored data or answers.",
    },
    "defined.not_reached": {
        "ja": "実行が途中で止まったため ({names} の採点の前)、このモデルは採点されていません。「実行時の出来事」を見てください。",
        "en": "Not graded: the run stopped before this model ({names}) was reached; see what happened while running.",
    },
    "incident.cpu_time": {"ja": "CPU 時間の上限", "en": "CPU time limit reached"},
    "incident.processes": {"ja": "プロセス数の上限", "en": "Process limit reached"},
    "metric.from_parameters": {
        "ja": "パラメータから計算された予測",
        "en": "predictions computed from the parameters",
    },
    "where.cell": {"ja": "セル {cell} の {line} 行目", "en": "cell {cell}, line {line}"},
    "where.cell_only": {"ja": "セル {cell}", "en": "cell {cell}"},
    "error.cuda": {
        "ja": "— 採点は GPU のない CPU で行います。デバイスは device = torch.device(\"cuda\" if torch.cuda.is_available() else \"cpu\") のように選び、.cuda() ではなく .to(device) を使ってください。",
        "en": "— grading runs on a CPU without a GPU: pick the device with device = torch.device(\"cuda\" if torch.cuda.is_available() else \"cpu\") and use .to(device) instead of .cuda().",
    },
    "error.skipped_name": {
        "ja": "— 「{name}」はセル {cell} の {line} 行目で定義されていますが、定義モードではその文 (学習ループや計算) は実行されません。クラスの中で必要な値は、クラスの引数にするか、定数として定義してください。",
        "en": "— '{name}' is set in cell {cell}, line {line}, but definitions mode does not run that statement (training loops and computations are skipped). Pass the value as a constructor argument or define it as a constant.",
    },
    # ---- a budget per phase (issue 18, item 4: grader/execution.py, grader/checks.py) ---------------
    "timeout.construct": {
        "ja": "{name} の構築で時間切れ: {name}({args}) の作成が、モデルの各段階に与えられた上限 {seconds:g} 秒を超えたため打ち切りました。このモデルの残りの確認は行っていません。",
        "en": "Timeout in the construction of {name}: building {name}({args}) took longer than {seconds:g} s, the budget of each phase of a model, and was stopped. This model's other checks were not run.",
        "hint_ja": "__init__ では層を作るだけにしてください。ループや sleep、入力待ちがあると、いつまでもモデルを使えません。",
        "hint_en": "Keep __init__ to building the layers: a loop, a sleep or a wait for input there keeps the model from ever being used.",
    },
    "timeout.probes": {
        "ja": "{name} の検査で時間切れ: テスト入力での呼び出し (forward・出力の形・勾配の確認) が、モデルの各段階に与えられた上限 {seconds:g} 秒を超えたため打ち切りました。このモデルの残りの確認は行っていません。",
        "en": "Timeout in the probes of {name}: calling it on the test inputs (forward, output shapes, gradients) took longer than {seconds:g} s, the budget of each phase of a model, and was stopped. This model's other checks were not run.",
        "hint_ja": "forward が必ず値を返すか確かめてください。条件が変わらない while ループは終わりません。",
        "hint_en": "Check that forward always returns: a while loop whose condition never changes runs forever.",
    },
    "timeout.training": {
        "ja": "{name} の学習で時間切れ: 採点器による学習 (シード {seeds} 個 × {epochs} エポック) が、モデルの各段階に与えられた上限 {seconds:g} 秒を超えたため打ち切りました。テストデータでの指標はありません。",
        "en": "Timeout in the training of {name}: the grader's training ({seeds} seed(s) x {epochs} epochs) took longer than {seconds:g} s, the budget of each phase of a model, and was stopped. There is no test metric.",
        "hint_ja": "学習では forward がエポックごとに呼ばれます。何度も呼ばれるうちに遅くなったり止まったりしないか (回数を数える変数、増え続けるリストなど) を確かめてください。",
        "hint_en": "Training calls forward once per epoch: check that it does not slow down or stop after many calls (a call counter, a list that keeps growing).",
    },
    "skipped.timeout": {
        "ja": "未確認: このモデルは時間切れになりました (上の時間切れの説明を見てください)。",
        "en": "Not checked: this model ran out of time (see the timeout above).",
    },
    "defined.load_timeout": {
        "ja": "未採点: 提出物の読み込み (トップレベルのコードの実行) が上限 {seconds:g} 秒を超えたため打ち切り、このモデルまで進めませんでした。",
        "en": "Not graded: loading the submission (running its top-level code) took longer than {seconds:g} s and was stopped before this model was reached.",
        "hint_ja": "関数やメソッドの外に書いたコード (クラス定義の本体も含む) は読み込むときに実行されます。そこにループや sleep、時間のかかる計算を書かないでください。",
        "hint_en": "Code outside functions and methods (class bodies included) runs when the file is loaded: keep loops, sleeps and long computations out of it.",
    },
    "run.model_timeout.construct": {
        "ja": "モデル {model} (クラス {name}) の構築が、モデルの各段階の上限 {seconds:g} 秒を超えたため打ち切りました。{after}",
        "en": "Model {model} (class {name}): its construction went over the {seconds:g} s budget of each phase of a model and was stopped.{after}",
    },
    "run.model_timeout.probes": {
        "ja": "モデル {model} (クラス {name}) の検査が、モデルの各段階の上限 {seconds:g} 秒を超えたため打ち切りました。{after}",
        "en": "Model {model} (class {name}): its probes went over the {seconds:g} s budget of each phase of a model and were stopped.{after}",
    },
    "run.model_timeout.training": {
        "ja": "モデル {model} (クラス {name}) の学習が、モデルの各段階の上限 {seconds:g} 秒を超えたため打ち切りました。{after}",
        "en": "Model {model} (class {name}): its training went over the {seconds:g} s budget of each phase of a model and was stopped.{after}",
    },
    "run.model_timeout.restarted": {
        "ja": "後に続くモデルは、新しい実行で採点しました。",
        "en": " The models after it were graded in a fresh run.",
    },
    "run.load_timeout": {
        "ja": "提出物の読み込み (トップレベルのコード: import・クラス定義・代入の実行) が上限 {seconds:g} 秒を超えたため打ち切りました。どのモデルも採点できませんでした。",
        "en": "Loading the submission (running its top-level code: imports, classes, assignments) took longer than its {seconds:g} s budget and was stopped; no model could be graded.",
    },
    # ---- checks: defined ---------------------------------------------------------------------
    "defined.passed": {"ja": "クラス {name} が見つかりました (セル {cell})。", "en": "Found class {name} (cell {cell})."},
    "defined.passed_by_methods": {
        "ja": "{methods} メソッドを持つクラス {name} (セル {cell}) をこのモデルとして採点しました。",
        "en": "Graded class {name} (cell {cell}) as this model because it has the method(s) {methods}.",
    },
    "defined.missing": {
        "ja": "クラス {names} が見つかりません。{reasons}",
        "en": "Class {names} was not found.{reasons}",
        "hint_ja": "クラス名の綴りと大文字・小文字を確認し、torch.nn.Module を継承して定義してください。",
        "hint_en": "Check the spelling and case of the class name, and define it as a subclass of torch.nn.Module.",
    },
    "defined.missing_with_methods": {
        "ja": "クラス {names}、または {methods} メソッドを持つ torch.nn.Module のクラスが見つかりません。{reasons}",
        "en": "Neither class {names} nor any torch.nn.Module class with the method(s) {methods} was found.{reasons}",
        "hint_ja": "このモデルは {methods} メソッドを持つ torch.nn.Module のクラスです。課題が求めるメソッドをすべて定義してください。",
        "hint_en": "This model is a torch.nn.Module class with the method(s) {methods}: define every method the assignment asks for.",
    },
    "defined.syntax_error": {
        "ja": "セル {cell} の {line} 行目に構文エラーがあるため、そのセルは実行されませんでした ({message})。",
        "en": "Cell {cell} has a syntax error at line {line}, so that cell did not run ({message}).",
    },
    "defined.class_raised": {
        "ja": "セル {cell} の {line} 行目のクラス定義でエラー: {error}。",
        "en": "The class definition in cell {cell}, line {line} raised: {error}.",
    },
    "defined.cell_raised": {
        "ja": "クラスを定義するセル {cell} が {line} 行目でエラーになりました: {error}。そのセルでエラーより後の文は実行されていません。",
        "en": "Cell {cell}, which defines classes, raised at line {line}: {error}. Its statements after the error did not run.",
    },
    "defined.construct_refused": {
        "ja": "{name}({args}) でモデルを作れませんでした: {error}。課題はこのモデルを {name}({parameters}) として作ります。",
        "en": "Could not build the model with {name}({args}): {error}; the assignment builds it as {name}({parameters}).",
        "hint_ja": "__init__ が課題の引数を (self, {parameters}) の順に受け取るようにしてください。",
        "hint_en": "Make __init__ take the assignment's arguments in this order: (self, {parameters}).",
    },
    "defined.construct_failed": {
        "ja": "{name}({args}) でモデルを作れませんでした: {error}",
        "en": "Could not build the model with {name}({args}): {error}",
        "hint_ja": "__init__ の引数の数と順番が課題の指定と同じか、super().__init__() を呼んでいるか確認してください。",
        "hint_en": "Check that __init__ takes the arguments the assignment gives, in the same order, and calls super().__init__().",
    },
    "defined.without_arguments": {
        "ja": "{name}({args}) でモデルを作れませんでした: {error}。課題はこのモデルを {name}({parameters}) として作ります。引数なしの {name}() では作れたので、ほかの確認はそのモデルで行いました。",
        "en": "Could not build the model with {name}({args}): {error}; the assignment builds it as {name}({parameters}). {name}() builds without arguments, so the other checks graded that model.",
        "hint_ja": "__init__ が課題の引数 (self, {parameters}) を受け取り、層の大きさを数値で直接書かずにその引数から決めるようにしてください。",
        "hint_en": "Make __init__ take the assignment's arguments (self, {parameters}) and build the layers from them instead of writing the sizes as numbers.",
    },
    "defined.found_classes": {
        "ja": "ファイルにある torch.nn.Module のクラス: {classes}。",
        "en": "The torch.nn.Module classes in the file: {classes}.",
    },
    "defined.looks_like": {
        "ja": "{name} はこのモデルに見えます ({call} として作ると、入力 {inputs} 個から出力 {outputs} 個を返します)。そうなら、クラス名を {wanted} に変えてください。",
        "en": "{name} looks like this model (built as {call}, it maps {inputs} inputs to {outputs} outputs): if it is, rename the class {wanted}.",
    },
    # ---- checks: structure -------------------------------------------------------------------
    "structure.passed": {"ja": "層の構成は期待どおりです: {layers}", "en": "The layers are as expected: {layers}"},
    "structure.layer_count": {
        "ja": "forward で使われる線形層の数が期待と違います。",
        "en": "The forward pass uses a different number of linear layers than expected.",
        "hint_ja": "forward で、課題が指定するすべての層を順番に使っているか確認してください。",
        "hint_en": "Check that forward uses every layer the assignment asks for, in order.",
    },
    "structure.layer_sizes": {
        "ja": "線形層の入力・出力の大きさが期待と違います。",
        "en": "The input/output sizes of the linear layers differ from what is expected.",
        "hint_ja": "各 torch.nn.Linear の入力・出力の大きさが、コンストラクタの引数から決まっているか確認してください。",
        "hint_en": "Check that each torch.nn.Linear takes its input and output sizes from the constructor arguments.",
    },
    "structure.missing_output_activation": {
        "ja": "forward の出力が {activation} を通っていません (課題の層は {activation} で終わります)。",
        "en": "forward's output does not go through {activation}; the assignment's layers end with it.",
        "hint_ja": "forward の最後で、最後の層の出力に {activation} を適用してください。",
        "hint_en": "Apply {activation} to the last layer's output at the end of forward.",
    },
    "structure.extra_output_activation": {
        "ja": "forward の出力が最後の線形層の後で {activation} を通っていますが、課題の層にはありません。",
        "en": "forward passes its output through {activation} after the last linear layer; the assignment's layers do not.",
        "hint_ja": "最後の線形層の出力をそのまま返してください。",
        "hint_en": "Return the last linear layer's output as it is.",
    },
    "structure.missing_hidden_activation": {
        "ja": "線形層の間に {activation} がありません。",
        "en": "There is no {activation} between the linear layers.",
        "hint_ja": "活性化関数を挟まない 2 つの線形層は、1 つの線形写像と同じです。中間層の出力に {activation} を適用してください。",
        "hint_en": "Two linear layers with no activation between them are a single linear map: apply {activation} to the hidden layer's output.",
    },
    "structure.extra_layers": {
        "ja": "課題の層にない層が使われています: {names}。",
        "en": "forward uses layers the assignment's model does not have: {names}.",
        "hint_ja": "採点は課題が指定するモデルに対して行います。{names} を外して、課題の層の並びと同じにしてください。",
        "hint_en": "The grading measures the model the assignment describes: leave out {names} so that the layers are the assignment's.",
    },
    # Hints for what was found in a model of a given task (`ModelSpec.task`): their own texts name the situation.
    "hint.output_activation_missing.classification": {
        "ja": "分類モデルの出力の活性化関数",
        "en": "A classifier's output activation",
        "hint_ja": "分類モデルの出力はクラスごとの確率として読むので、forward の最後で {activation} を通して 0 から 1 の範囲に収めます。",
        "hint_en": "A classifier's outputs are read as a probability per class, so forward ends with {activation}, which keeps each of them between 0 and 1.",
    },
    "hint.output_activation_missing.regression": {
        "ja": "回帰モデルの出力の活性化関数",
        "en": "A regression's output activation",
        "hint_ja": "この課題の回帰モデルは、出力に {activation} を適用します。最後の線形層の出力に {activation} を通してください。",
        "hint_en": "This assignment's regression applies {activation} to its output: pass the last linear layer's output through {activation}.",
    },
    "hint.output_activation_missing.reconstruction": {
        "ja": "再構成の出力の活性化関数",
        "en": "A reconstruction's output activation",
        "hint_ja": "この課題のオートエンコーダーは、再構成した出力に {activation} を適用します。デコーダーの出力に {activation} を通してください。",
        "hint_en": "This assignment's autoencoder applies {activation} to its reconstruction: pass the decoder's output through {activation}.",
    },
    "hint.output_activation_extra.regression": {
        "ja": "回帰モデルの出力に余計な活性化関数",
        "en": "An extra activation on a regression's output",
        "hint_ja": "回帰モデルはどんな大きさの値も予測します。{activation} はすべての予測をその値域に押し込めてしまう (シグモイドなら 0 から 1) ので、最後の線形層の出力をそのまま返してください。",
        "hint_en": "A regression predicts values of any size; {activation} squeezes every prediction into its range (a sigmoid: between 0 and 1), so return the last linear layer's output as it is.",
    },
    "hint.output_activation_extra.reconstruction": {
        "ja": "再構成の出力に余計な活性化関数",
        "en": "An extra activation on a reconstruction",
        "hint_ja": "オートエンコーダーは入力そのものを再構成します。入力の値は {activation} の値域に収まっていないので、デコーダーの線形層の出力をそのまま返してください。",
        "hint_en": "An autoencoder reconstructs its inputs, whose values are not confined to {activation}'s range: return the decoder's linear output as it is.",
    },
    "hint.output_activation_extra.classification": {
        "ja": "分類モデルの出力に余計な活性化関数",
        "en": "An extra activation on a classifier's output",
        "hint_ja": "この課題の分類モデルは、最後の線形層の出力 (スコア) をそのまま返します。{activation} を外してください。",
        "hint_en": "This assignment's classifier returns the last linear layer's output (its scores) as it is: leave out the {activation}.",
    },
    "structure.activations": {
        "ja": "活性化関数の種類か位置が期待と違います。",
        "en": "The kind or position of the activation functions differs from what is expected.",
        "hint_ja": "活性化関数の種類と、線形層との順番を、課題が指定する層の並びと見比べてください。",
        "hint_en": "Compare the kind of each activation, and its order relative to the linear layers, with the layers the assignment asks for.",
    },
    "structure.hidden_fixed": {
        "ja": "隠れ層の大きさがコンストラクタの引数に従っていません (隠れ層の大きさを {hidden} にして作り直したときの層)。",
        "en": "The hidden layer's size does not follow the constructor argument (layers when rebuilt with a hidden width of {hidden}).",
        "hint_ja": "__init__ の中で数値を直接書かず、隠れ層の大きさを決める引数を使って torch.nn.Linear を作ってください。",
        "hint_en": "Build the torch.nn.Linear layers from the argument that sets the hidden width instead of writing the number into __init__.",
    },
    "structure.hidden_ignored": {
        "ja": "隠れ層の大きさが {width} に固定されていて、それを決めるコンストラクタの引数 (作り直したときの値 {hidden}) に従っていません。",
        "en": "The hidden layer's size is fixed at {width}; it does not follow the constructor argument that sets it (rebuilt with {hidden}).",
        "hint_ja": "__init__ の中で数値を直接書かず、隠れ層の大きさを決める引数を使って torch.nn.Linear を作ってください。",
        "hint_en": "Build the torch.nn.Linear layers from the argument that sets the hidden width instead of writing the number into __init__.",
    },
    "structure.hidden_raised": {
        "ja": "隠れ層の大きさを {hidden} にして作り直すとエラーになりました: {error}",
        "en": "Rebuilding the model with a hidden width of {hidden} raised: {error}",
        "hint_ja": "隠れ層の大きさはコンストラクタの引数で変えられるようにしてください。",
        "hint_en": "The hidden layer's size should be settable through its constructor argument.",
    },
    # A pattern's structure (grader/checks/library/structure_pattern.py).
    "structure.missing_layer": {
        "ja": "forward に {kind} の層がありません。課題の層の並びには {kind} が必要です。",
        "en": "forward has no {kind} layer; the assignment's layers need one.",
        "hint_ja": "{kind} の層を __init__ で作り、課題の層の並びのとおりに forward で使ってください。",
        "hint_en": "Build a {kind} layer in __init__ and use it in forward where the assignment's layers say.",
    },
    "structure.output_logits": {
        "ja": "forward が最後に {activation} を通していますが、損失 {loss} はロジット (最後の層の出力そのもの) を受け取ります。採点器はこの出力に合う損失で学習させたので、点を失うのはこの確認だけです。",
        "en": "forward ends with {activation}, but the loss {loss} takes logits (the last layer's output as it is). The grader trained it with the loss that fits its output, so that only this check loses for it.",
        "hint_ja": "{loss} は {activation} にあたる計算を自分で行います。forward の最後の {activation} を外してください (予測されるクラスは変わりません)。",
        "hint_en": "{loss} does what {activation} does itself: leave out the final {activation} (the predicted classes stay the same).",
    },
    "structure.output_probabilities": {
        "ja": "forward の出力が確率になっていません (最後に softmax か sigmoid がありません)。損失 {loss} は確率を受け取ります。",
        "en": "forward's output is not probabilities (it does not end with softmax or sigmoid); the loss {loss} takes probabilities.",
        "hint_ja": "最後の層の出力に sigmoid (クラスごと) か softmax (クラスの間で) を適用してください。",
        "hint_en": "Apply sigmoid (per class) or softmax (across the classes) to the last layer's output.",
    },
    "structure.output_log_probabilities": {
        "ja": "forward が log_softmax で終わっていません。損失 {loss} は対数確率を受け取ります。",
        "en": "forward does not end with log_softmax; the loss {loss} takes log-probabilities.",
        "hint_ja": "forward の最後で torch.log_softmax(x, dim=1) を返してください。",
        "hint_en": "Return torch.log_softmax(x, dim=1) at the end of forward.",
    },
    "structure.pattern_layers": {
        "ja": "層の種類か順番が課題の層の並びと違います。",
        "en": "The kinds or the order of the layers differ from the assignment's.",
        "hint_ja": "forward で使う層の種類と順番を、課題が指定する層の並び (期待) と見比べてください。",
        "hint_en": "Compare the kind and order of the layers forward uses with the assignment's (expected).",
    },
    "structure.pattern_sizes": {
        "ja": "層の種類と順番は合っていますが、大きさ (チャンネル数、カーネルの大きさ、幅) が課題と違います。",
        "en": "The layers are of the right kinds and in order, but their sizes (channels, kernel size, widths) differ from the assignment's.",
        "hint_ja": "各層の大きさが、課題のとおりコンストラクタの引数から決まっているか確認してください。",
        "hint_en": "Check that each layer takes its sizes from the constructor arguments, as the assignment says.",
    },
    "structure.argument_ignored": {
        "ja": "層がコンストラクタの引数 {argument} に従っていません ({argument} = {hidden} で作り直したときの層)。",
        "en": "The layers do not follow the constructor argument {argument} (the layers when rebuilt with {argument} = {hidden}).",
        "hint_ja": "__init__ の中で数値を直接書かず、引数 {argument} を使って層を作ってください。",
        "hint_en": "Build the layers from the argument {argument} instead of writing its number into __init__.",
    },
    "structure.not_affine": {
        "ja": "出力が入力の線形 (アフィン) 関数になっていません (ずれ {deviation})。",
        "en": "The output is not a linear (affine) function of the input (deviation {deviation}).",
        "hint_ja": "アフィンなモデルは y = Wx + b だけです。活性化関数を入れないでください。",
        "hint_en": "An affine model is just y = Wx + b: leave out any activation function.",
    },
    # ---- checks: forward ---------------------------------------------------------------------
    "forward.passed": {"ja": "出力の形は {found} で期待どおりです。", "en": "The output shape is {found}, as expected."},
    "forward.raised": {
        "ja": "forward がエラーになりました: {error}",
        "en": "forward raised an error: {error}",
        "hint_ja": "(バッチの大きさ × 入力の変数の数) の形の入力で forward を試してみてください。",
        "hint_en": "Try forward on an input of the shape (batch size × number of input variables).",
    },
    "forward.tuple": {
        "ja": "forward が {length} 個の値の {type} ({shapes}) を返しました。課題は形 {want} の tensor 1 つを期待しています。",
        "en": "forward returned a {type} of {length} ({shapes}); the assignment expects one tensor of shape {want}.",
        "hint_ja": "forward はモデルの出力だけを返してください。中間層の表現 (コード) などは、project(x) のような別のメソッドで返します。",
        "hint_en": "Return only the model's output from forward; give other values (such as the hidden code) a method of their own, like project(x).",
    },
    "forward.not_tensor": {
        "ja": "forward が tensor ではなく {type} を返しました。",
        "en": "forward returned a {type}, not a tensor.",
        "hint_ja": "forward は最後の層の出力 (tensor) を return してください。",
        "hint_en": "forward should return the last layer's output tensor.",
    },
    "forward.squeezed": {
        "ja": "出力の形が {found} でした。期待される形は {expected} です (出力が 1 次元に潰れています)。",
        "en": "The output shape was {found}; expected {expected} (the output was flattened to one dimension).",
        "hint_ja": "squeeze() や view(-1) を使わず、(データ数, 出力の数) の 2 次元のまま返してください。",
        "hint_en": "Do not squeeze() or view(-1): return a 2-D (samples, outputs) tensor.",
    },
    "forward.wrong_shape": {
        "ja": "出力の形が {found} でした。期待される形は {expected} です。",
        "en": "The output shape was {found}; expected {expected}.",
        "hint_ja": "出力層の大きさと、バッチの次元を保っているかを確認してください。",
        "hint_en": "Check the output layer's size and that the batch dimension is kept.",
    },
    "forward.batch_one_raised": {
        "ja": "データ 1 件のバッチで forward がエラーになりました: {error}",
        "en": "forward raised on a batch of one sample: {error}",
        "hint_ja": "バッチの大きさに依存する書き方 (固定の reshape など) をしていないか確認してください。",
        "hint_en": "Check for code that depends on the batch size (a fixed reshape, for example).",
    },
    "forward.batch_one_shape": {
        "ja": "データ 1 件のバッチで出力の形が {found} でした。期待される形は {expected} です。",
        "en": "For a batch of one sample the output shape was {found}; expected {expected}.",
        "hint_ja": "squeeze() はバッチの次元まで消してしまうことがあります。",
        "hint_en": "squeeze() can remove the batch dimension too.",
    },
    "forward.not_float": {
        "ja": "出力の型が {dtype} でした。浮動小数点数 (float32) を返してください。",
        "en": "The output dtype was {dtype}; return floating-point values (float32).",
    },
    # ---- checks: output range, gradients, project --------------------------------------------
    "range.passed": {
        "ja": "大きな入力に対しても出力は [{low}, {high}] の範囲に収まっています。",
        "en": "Even for large inputs the outputs stay within [{low}, {high}].",
    },
    "range.outside": {
        "ja": "出力が [{low}, {high}] の範囲を超えています。",
        "en": "The outputs go outside [{low}, {high}].",
        "hint_ja": "forward の最後の処理を確認してください。最後に活性化関数 (0 から 1 ならシグモイド関数) を通すと、出力がその範囲に収まります。",
        "hint_en": "Check the last step of forward: an activation at the end (a sigmoid for 0 to 1) keeps the outputs within the range.",
    },
    "range.not_finite": {
        "ja": "出力に NaN または無限大が含まれています。",
        "en": "The outputs contain NaN or infinity.",
        "hint_ja": "exp や割り算を自分で書いていないか確認してください。torch.sigmoid を使うと安全です。",
        "hint_en": "Check any hand-written exp or division; torch.sigmoid is numerically safe.",
    },
    # ---- capture (issue 12): the model as a graph --------------------------------------------
    "capture.verified": {
        "ja": "計算グラフとして取り出せました。形・勾配・学習・テストの評価はすべて採点器がこのグラフで行いました。",
        "en": "Captured as a graph: the shapes, gradients, training and test scores were all computed by the grader on that graph.",
    },
    "capture.verified_student_init": {
        "ja": "計算グラフとして取り出せました。標準の層の初期値は PyTorch の既定の初期化 (同じシード) に置き換えて学習しました。",
        "en": "Captured as a graph. The standard layers were trained from PyTorch's default initialisation under the same seed, not from their own initial values.",
    },
    "capture.not_constructed": {
        "ja": "モデルを作れなかったので、グラフを取り出していません。",
        "en": "The model could not be built, so no graph was captured.",
    },
    "capture.refused": {
        "ja": "取り出したグラフが検証を通りませんでした ({detail}){where}。このモデルの残りの確認はしていません。",
        "en": "The captured graph did not validate ({detail}){where}; the model's remaining checks were not run.",
    },
    "capture.unverified.trace": {
        "ja": "計算グラフとして取り出せませんでした ({detail}){where}。エラーになる forward や、tensor の値で分岐する if や for は取り出せません。このモデルはサンドボックスの中で従来の方法で採点したので、点数は「未検証」です。",
        "en": "Could not be captured as a graph ({detail}){where}: a forward that raises, or an if or a loop on a tensor's value, cannot be. This model was graded inside the sandbox the old way, so its score is unverified.",
        "hint_ja": "forward を PyTorch の演算だけで書き、tensor の値による分岐 (.item() や if x > 0) を避けてください。",
        "hint_en": "Write forward in PyTorch operations only, without branching on a tensor's value (.item(), if x > 0).",
    },
    "capture.unverified.not_allowed": {
        "ja": "計算グラフとして取り出せませんでした: {detail}{where} は採点器が検証できない演算です。このモデルはサンドボックスの中で従来の方法で採点したので、点数は「未検証」です。",
        "en": "Could not be captured as a graph: {detail}{where}, which the grader cannot verify. This model was graded inside the sandbox the old way, so its score is unverified.",
        "hint_ja": "forward の中では numpy などを使わず、torch の関数と層だけで計算してください。",
        "hint_en": "Compute forward with torch's functions and layers only (no numpy inside forward).",
    },
    "capture.unverified.seeds_differ": {
        "ja": "シードによって層の構成が変わるため、計算グラフとして取り出せませんでした。点数は「未検証」です。",
        "en": "The model's layers change with the seed, so it could not be captured as a graph; its score is unverified.",
    },
    "capture.unverified.too_large": {
        "ja": "モデルが大きすぎて計算グラフとして取り出せませんでした ({detail})。点数は「未検証」です。",
        "en": "The model is too large to be captured as a graph ({detail}); its score is unverified.",
    },
    "capture.unverified.construct": {
        "ja": "シードを変えてモデルを作るとエラーになりました ({detail}){where}。点数は「未検証」です。",
        "en": "Building the model under another seed raised ({detail}){where}; its score is unverified.",
    },
    "capture.unverified.unsupported": {
        "ja": "計算グラフとして取り出せませんでした ({detail}){where}。点数は「未検証」です。",
        "en": "Could not be captured as a graph ({detail}){where}; its score is unverified.",
    },
    "capture.unverified.absent": {
        "ja": "採点器はこのモデルの計算グラフを受け取りませんでした。サンドボックスの中で採点したので、点数は「未検証」です。",
        "en": "The grader received no graph of this model; it was graded inside the sandbox, so its score is unverified.",
    },
    "skipped.capture_refused": {
        "ja": "取り出したグラフが検証を通らなかったため、確認していません。",
        "en": "Not checked: the captured graph did not validate.",
    },
    "skipped.capture_required": {
        "ja": "この課題では、計算グラフとして取り出せないモデルは採点しません。",
        "en": "Not graded: this assignment grades only models that can be captured as a graph.",
    },
    "grad.passed": {
        "ja": "{count} 個のパラメータすべてに勾配が流れています。",
        "en": "Gradients reach all {count} parameters.",
    },
    "grad.dead": {
        "ja": "勾配が流れないパラメータがあります: {names}",
        "en": "Some parameters get no gradient: {names}",
        "hint_ja": "その層を forward で使っているか、途中で .detach() や .data、numpy() への変換をしていないか確認してください。勾配が届かない層は学習されません。",
        "hint_en": "Check that forward uses that layer and does not call .detach(), .data or numpy() on the way: a layer no gradient reaches never learns.",
    },
    "grad.no_parameters": {
        "ja": "モデルに学習できるパラメータがありません。",
        "en": "The model has no trainable parameters.",
        "hint_ja": "層は __init__ の中で self.l1 = torch.nn.Linear(...) のように属性として定義してください。",
        "hint_en": "Define the layers in __init__ as attributes, e.g. self.l1 = torch.nn.Linear(...).",
    },
    "grad.raised": {
        "ja": "逆伝播 (backward) がエラーになりました: {error}",
        "en": "Backpropagation (backward) raised: {error}",
    },
    "project.passed": {
        "ja": "{method}(x) の形は {found} で期待どおりです。",
        "en": "{method}(x) has the shape {found}, as expected.",
    },
    "project.missing": {
        "ja": "{method} メソッドがありません。",
        "en": "There is no {method} method.",
        "hint_ja": "課題は forward のほかに {method}(x) メソッドを求めています。クラスに定義してください。",
        "hint_en": "The assignment asks for a {method}(x) method beside forward: define it on the class.",
    },
    "project.raised": {
        "ja": "{method}(x) がエラーになりました: {error}",
        "en": "{method}(x) raised: {error}",
    },
    "project.wrong_shape": {
        "ja": "{method}(x) の形が {found} でした。期待される形は {expected} です。",
        "en": "{method}(x) had the shape {found}; expected {expected}.",
        "hint_ja": "{method} が返す値の形 (データ数, 次元の数) を、課題の指定と見比べてください。",
        "hint_en": "Compare the shape {method} returns (samples, dimensions) with the one the assignment asks for.",
    },
    # ---- checks: parameter count (graded where the spec asks) ---------------------------------
    "parameter_count.passed": {
        "ja": "パラメータの数は {count} で、上限の {max} 以下です。",
        "en": "The model has {count} parameters, within the limit of {max}.",
    },
    "parameter_count.failed": {
        "ja": "パラメータの数が {count} あり、上限の {max} を超えています。",
        "en": "The model has {count} parameters, over the limit of {max}.",
        "hint_ja": "中間層を小さくするか、層の数を減らしてください。パラメータの数は sum(p.numel() for p in model.parameters()) で数えられます。",
        "hint_en": "Make the hidden layers smaller or use fewer of them; sum(p.numel() for p in model.parameters()) counts the parameters.",
    },
    # ---- checks: metrics ---------------------------------------------------------------------
    "metric.full.mse": {
        "ja": "テストデータの MSE は {value} で、満点の基準 {full} 以下です ({seeds} 通りの初期値の{aggregate})。",
        "en": "Test MSE is {value}, within the full-credit threshold {full} ({aggregate} over {seeds} seeds).",
    },
    "metric.partial.mse": {
        "ja": "テストデータの MSE は {value} です。満点の基準は {full} 以下、{zero} 以上で 0 点です (部分点)。",
        "en": "Test MSE is {value}. Full credit needs {full} or less; {zero} or more scores zero (partial credit).",
        "hint_ja": "forward の構成 (活性化関数の有無と位置) を課題の指定と見比べてください。採点器は同じ条件で学習させています。",
        "hint_en": "Compare forward's layers (which activations, where) with the assignment's; the grader trains every submission the same way.",
    },
    "metric.zero.mse": {
        "ja": "テストデータの MSE は {value} で、0 点の基準 {zero} 以上です。",
        "en": "Test MSE is {value}, at or above the zero-credit threshold {zero}.",
        "hint_ja": "採点器はすべての提出を同じ条件で学習させています。forward の計算を課題のモデルと見比べ、重みの初期化を自分で変えていないか確認してください。",
        "hint_en": "The grader trains every submission the same way: compare what forward computes with the assignment's model, and check that you did not change how the weights are initialised.",
    },
    "metric.full.accuracy": {
        "ja": "テストデータの正解率は {value} で、満点の基準 {full} 以上です ({seeds} 通りの初期値の{aggregate})。",
        "en": "Test accuracy is {value}, at or above the full-credit threshold {full} ({aggregate} over {seeds} seeds).",
    },
    "metric.partial.accuracy": {
        "ja": "テストデータの正解率は {value} です。満点の基準は {full} 以上、{zero} 以下で 0 点です (部分点)。",
        "en": "Test accuracy is {value}. Full credit needs {full} or more; {zero} or less scores zero (partial credit).",
        "hint_ja": "出力が最大になるクラスを予測とします。出力層の大きさがクラスの数と同じか確認してください。",
        "hint_en": "The predicted class is the output with the largest value; check the output layer has one unit per class.",
    },
    "metric.zero.accuracy": {
        "ja": "テストデータの正解率は {value} で、0 点の基準 {zero} 以下です。",
        "en": "Test accuracy is {value}, at or below the zero-credit threshold {zero}.",
        "hint_ja": "出力が最大になるクラスを予測とします。forward の構成を課題の指定と見比べてください。",
        "hint_en": "The predicted class is the output with the largest value; compare forward's layers with the assignment's.",
    },
    "metric.constant.mse": {
        "ja": "テストデータの MSE は {value} ですが、モデルはどのテストデータにも同じ値を予測しています (実測値と予測値の図が水平な直線になります)。学習データの目的変数の平均をいつも予測したときの MSE は {baseline} です。",
        "en": "Test MSE is {value}, but the model predicts the same value for every test sample (the observed-versus-predicted plot is a flat line); always predicting the training targets' mean scores {baseline}.",
        "hint_ja": "よくある原因: シグモイドの飽和や死んだ ReLU (中間層の出力がどの入力でも同じ)、入力 x を使っていない forward、出力層の前で定数になる値。いくつかのデータで中間層の出力を print して確かめてください。",
        "hint_en": "Likely causes: a saturated sigmoid or dead ReLUs (the hidden layer gives the same output for every input), a forward that does not use its input x, or a constant before the output layer. Print the hidden layer's outputs for a few samples.",
    },
    "metric.constant.accuracy": {
        "ja": "テストデータの正解率は {value} ですが、モデルはどのテストデータにも同じ出力を返すため、すべて同じクラスを予測しています。",
        "en": "Test accuracy is {value}, but the model gives the same output for every test sample, so it predicts one class for all of them.",
        "hint_ja": "よくある原因: シグモイドの飽和や死んだ ReLU (中間層の出力がどの入力でも同じ)、入力 x を使っていない forward、出力層の前で定数になる値。いくつかのデータで中間層の出力を print して確かめてください。",
        "hint_en": "Likely causes: a saturated sigmoid or dead ReLUs (the hidden layer gives the same output for every input), a forward that does not use its input x, or a constant before the output layer. Print the hidden layer's outputs for a few samples.",
    },
    "metric.bad_shape": {
        "ja": "出力の形が正しくないため、テストデータでの評価は行いませんでした。",
        "en": "The output shape is wrong, so the model was not evaluated on the test set.",
        "hint_ja": "まず出力の形 (forward_shape) を直してください。",
        "hint_en": "Fix the output shape (forward_shape) first.",
    },
    "metric.no_training": {
        "ja": "学習の結果が得られませんでした (時間切れか、実行が途中で終了しました)。",
        "en": "No training result came back (the run timed out or ended early).",
    },
    "metric.training_failed": {
        "ja": "学習中にエラーになりました: {error}",
        "en": "Training raised an error: {error}",
        "hint_ja": "損失関数 (MSE) と逆伝播が動くか、小さなデータで試してください。",
        "hint_en": "Check that the loss (MSE) and backpropagation run, on a small batch.",
    },
    "metric.bad_predictions": {
        "ja": "予測値の形が正しくないか、NaN / 無限大を含んでいます",
        "en": "the predictions have the wrong shape or contain NaN / infinity",
    },
    # ---- skipped -----------------------------------------------------------------------------
    "skipped.not_defined": {
        "ja": "クラスが使えないため、この確認は行いませんでした。",
        "en": "Not checked: the class could not be used.",
    },
    "skipped.not_tensor": {
        "ja": "forward が tensor 1 つではなく {type} を返したため、この確認は行いませんでした (出力の形を参照)。",
        "en": "Not checked: forward returned a {type}, not one tensor (see the output shape).",
    },
    "skipped.forward_failed": {
        "ja": "forward が動かないため、この確認は行いませんでした。",
        "en": "Not checked: forward did not run.",
    },
    # ---- the instructor's own checks (grader.checks.custom) ----------------------------------
    "instructor_check.outcome": {"ja": "{found}", "en": "{found}"},  # the check's own texts are used
    "instructor_check.unverified": {
        "ja": "モデルをグラフとして取り出せなかったため、この確認 (担当教員の確認) は行いませんでした (グラフ取得の項目を参照)。",
        "en": "Not checked: this check of your instructor's runs on the model's captured graph, which could not be captured (see the capture check).",
    },
    "instructor_check.error": {
        "ja": "この確認は採点器の側で実行できませんでした。あなたの誤りではありません。担当教員に伝わります。",
        "en": "This check could not be run on the grader's side. It is not your mistake; your instructor can see why.",
    },
    "instructor_check.model_failed": {
        "ja": "この確認で与えた入力でモデルが動きませんでした: {error}",
        "en": "The model did not run on this check's inputs: {error}",
    },
    # ---- summary words -----------------------------------------------------------------------
    "status.passed": {"ja": "合格", "en": "passed"},
    "status.failed": {"ja": "不合格", "en": "failed"},
    "status.error": {"ja": "エラー", "en": "error"},
    "status.skipped": {"ja": "未確認", "en": "skipped"},
    "status.graded": {"ja": "採点済み", "en": "graded"},
    "status.invalid": {"ja": "採点不可", "en": "invalid"},
    "aggregate.median": {"ja": "中央値", "en": "median"},
    "aggregate.best": {"ja": "最良値", "en": "best"},
    "label.total": {"ja": "合計", "en": "Total"},
    "label.model": {"ja": "モデル", "en": "Model"},
    "label.check": {"ja": "確認項目", "en": "Check"},
    "label.result": {"ja": "結果", "en": "Result"},
    "label.points": {"ja": "得点", "en": "Points"},
    "label.message": {"ja": "内容", "en": "Details"},
    "label.hint": {"ja": "ヒント", "en": "Hint"},
    "label.expected": {"ja": "期待", "en": "Expected"},
    "label.found": {"ja": "実際", "en": "Found"},
    "label.skipped_statements": {"ja": "定義モードで実行しなかった文", "en": "Statements definitions mode did not run"},
    "label.code_errors": {"ja": "実行中のエラー", "en": "Errors while the code ran"},
    "label.incidents": {"ja": "実行時の出来事", "en": "What happened while running"},
    "label.output": {"ja": "提出コードの出力", "en": "Output of the submission"},
    "label.report_title": {"ja": "採点結果", "en": "Grading report"},
    "label.student": {"ja": "提出者", "en": "Student"},
    "label.file": {"ja": "ファイル", "en": "File"},
    "label.duration": {"ja": "所要時間", "en": "Time taken"},
    "label.version": {"ja": "採点器のバージョン", "en": "Grader version"},
    # ---- report and class summary (issue 4) -------------------------------------------------
    # Check names, and the idea behind each check (shown when a check did not pass and its
    # message has no hint of its own; an assignment's messages file may say it in its lesson's words).
    "check.defined": {"ja": "クラスの定義", "en": "Class defined"},
    "check.capture": {"ja": "グラフとしての取得", "en": "Captured as a graph"},
    "check.structure": {"ja": "層の構成", "en": "Layers"},
    "check.forward_shape": {"ja": "出力の形", "en": "Output shape"},
    "check.output_range": {"ja": "出力の範囲", "en": "Output range"},
    "check.grad_flow": {"ja": "勾配の流れ", "en": "Gradient flow"},
    "check.project_shape": {"ja": "project の出力の形", "en": "Shape of project()"},
    "check.parameter_count": {"ja": "パラメータの数", "en": "Number of parameters"},
    "check.test_mse": {"ja": "テストデータの MSE", "en": "Test MSE"},
    "check.test_accuracy": {"ja": "テストデータの正解率", "en": "Test accuracy"},
    "idea.defined": {
        "ja": "どのモデルも torch.nn.Module を継承したクラスとして定義し、__init__ で層を作り、forward に順方向の計算を書きます。",
        "en": "Every model is a class that inherits torch.nn.Module: __init__ builds the layers and forward computes the output.",
    },
    "idea.capture": {
        "ja": "採点器はモデルを計算グラフとして取り出し、自分の側で学習と評価をします。forward が PyTorch の演算だけで書かれていれば、どのモデルも取り出せます。",
        "en": "The grader captures each model as a computation graph and trains and scores it on its own side; any forward written in PyTorch operations alone can be captured.",
    },
    "idea.structure": {
        "ja": "層の並び (どの層と活性化関数を、どの順番と大きさで使うか) は、課題の指定と同じにします。",
        "en": "The layers (which layers and activations, in which order and size) follow the assignment's.",
    },
    "idea.forward_shape": {
        "ja": "forward は (データ数, 出力の数) の 2 次元の tensor を返します。",
        "en": "forward returns a 2-D tensor (samples, outputs).",
    },
    "idea.output_range": {
        "ja": "分類モデルは出力をシグモイド関数で 0 から 1 に収め、クラスごとの確率のように扱います。",
        "en": "A classifier squashes its outputs into 0 to 1 with a sigmoid and reads them like a probability per class.",
    },
    "idea.grad_flow": {
        "ja": "学習では loss.backward() で誤差を逆方向に伝播し、optimizer.step() で重みを更新します。勾配が届かない重みは学習されません。",
        "en": "Training propagates the loss backwards with loss.backward() and updates the weights with optimizer.step(); a weight no gradient reaches never learns.",
    },
    "idea.project_shape": {
        "ja": "このメソッドは、入力を中間層の表現 (次元を減らした値) に変換して返します。",
        "en": "This method maps an input to its hidden-layer code: a representation with fewer dimensions.",
    },
    "idea.parameter_count": {
        "ja": "パラメータ (重みとバイアス) が多いほど、モデルは大きく、学習データに過剰に適合しやすくなります。",
        "en": "The more parameters (weights and biases) a model has, the larger it is and the more easily it overfits its training data.",
    },
    "idea.test_mse": {
        "ja": "学習に使っていないテストデータで、予測値と実測値の平均二乗誤差 (MSE) を測ります。",
        "en": "The mean squared error (MSE) between predicted and observed values is measured on the test data, which training never saw.",
    },
    "idea.test_accuracy": {
        "ja": "出力が最大になるクラスを予測とし、学習に使っていないテストデータでの正解率を測ります。",
        "en": "The predicted class is the output with the largest value; accuracy is measured on the test data, which training never saw.",
    },
    "mode.definitions": {"ja": "定義モード", "en": "definitions"},
    "mode.full": {"ja": "全実行", "en": "full"},
    "incident.timeout": {"ja": "時間切れ", "en": "Time limit reached"},
    "incident.memory": {"ja": "メモリ不足", "en": "Out of memory"},
    "incident.output_truncated": {"ja": "出力の切り詰め", "en": "Output cut short"},
    "incident.exited": {"ja": "途中で終了", "en": "Ended early"},
    "incident.not_isolated": {"ja": "隔離なしで実行", "en": "Run without a sandbox"},
    "incident.malformed_observations": {"ja": "不正な観測データ", "en": "Malformed observations"},
    "incident.forged_observations": {"ja": "偽造された観測データ", "en": "Forged observations"},
    "incident.suspicious_constant": {"ja": "疑わしい定数", "en": "Suspicious constant"},
    "incident.seed_independent": {"ja": "シードに依存しない初期値", "en": "Initial values independent of the seed"},
    "incident.grader_fault": {"ja": "採点器の不具合", "en": "Grader fault"},
    # The student's report.
    "report.score_by_model": {"ja": "モデルごとの得点", "en": "Points per model"},
    "report.class_found": {"ja": "採点したクラス: {name}", "en": "Class graded: {name}"},
    "report.not_found": {"ja": "クラスが見つかりません", "en": "Class not found"},
    "report.lesson_idea": {"ja": "考え方", "en": "The idea behind it"},
    "report.withheld": {
        "ja": "採点済みで、まだ表示されていない確認があります (担当教員が公開します)。ここの得点は表示されている確認だけの合計です。",
        "en": "Some checks are graded but not shown yet (your instructor releases them). The score here counts only the checks shown.",
    },
    "report.visibility.hidden": {"ja": "学生には非表示", "en": "hidden from students"},
    "report.visibility.after_due_date": {"ja": "締め切り後に表示", "en": "shown after the due date"},
    "report.instructor_note": {"ja": "教員向け: この確認が実行できなかった理由", "en": "For instructors: why this check could not run"},
    "report.your_code": {"ja": "あなたのコード ({where})", "en": "Your code ({where})"},
    "report.plots": {"ja": "図", "en": "Plots"},
    "report.no_plots": {
        "ja": "採点器がこのモデルを学習できなかったため、図はありません。",
        "en": "No plots: the grader could not train this model.",
    },
    "report.invalid_help": {
        "ja": "ファイルを直して、もう一度提出してください。",
        "en": "Fix the file and hand it in again.",
    },
    "report.error_help": {
        "ja": "提出物の問題ではありません。担当の先生に知らせてください。",
        "en": "This is not a problem with your submission. Please tell your instructor.",
    },
    "report.what_ran": {"ja": "実行の記録", "en": "What ran"},
    "report.mode.definitions": {
        "ja": "定義モードで実行しました: 各コードセルの import、def、class と定数の代入だけを実行し、学習ループや図の描画などは実行していません。モデルの学習は採点器が同じ条件で行います。",
        "en": "Run in definitions mode: only the imports, def, class and constant assignments of each code cell ran; training loops, plots and other top-level work did not. The grader trains every model itself, the same way for everyone.",
    },
    "report.mode.full": {
        "ja": "全実行モードで実行しました: ノートブックのすべてのセルを上から順に実行しています (エラーになったセルがあっても次のセルに進みます)。モデルの学習は採点器が同じ条件で改めて行います。",
        "en": "Run in full mode: every cell of the notebook was run, top to bottom (a cell that raised did not stop the next). The grader then trains every model itself, the same way for everyone.",
    },
    "report.code_errors": {
        "ja": "次のコードはエラーになりました。そこで作られるはずだった名前は、その後のコードでは使えません。",
        "en": "This code raised an error; whatever it would have defined did not exist for the code after it.",
    },
    "report.missing_packages": {
        "ja": "採点の環境には {names} がありません。import は代わりのオブジェクトで通し、それを使ったコードだけがエラーになりました (採点には必要ありません)。",
        "en": "The grading sandbox does not have {names}: its import went through with a stand-in, and only the code that used it failed (the grading does not need it).",
    },
    "report.skipped_intro": {
        "ja": "次の {count} 個の文は実行していません。クラスの中でここで作られる名前を使うと、エラーになります。",
        "en": "These {count} statements did not run. A class that uses a name they create fails.",
    },
    "report.skipped_intro_one": {
        "ja": "次の文は実行していません。クラスの中でここで作られる名前を使うと、エラーになります。",
        "en": "This statement did not run. A class that uses a name it creates fails.",
    },
    "report.no_skipped": {"ja": "実行しなかった文はありません。", "en": "Every statement ran."},
    "report.stdout": {"ja": "標準出力", "en": "Standard output"},
    "report.stderr": {"ja": "標準エラー出力", "en": "Standard error"},
    "report.no_output": {"ja": "出力はありませんでした。", "en": "The submission printed nothing."},
    "report.truncated": {
        "ja": "長いため、先頭の {shown} 文字だけを表示しています (全体で {total} 文字)。",
        "en": "Too long to show in full: the first {shown} of {total} characters.",
    },
    "report.notes": {"ja": "お知らせ", "en": "Notes"},
    "report.show": {"ja": "表示する", "en": "Show"},
    "report.section": {"ja": "教材の該当箇所", "en": "In the lesson"},
    "plot.loss.title": {
        "ja": "学習曲線 (採点器による学習、seed {seed})",
        "en": "Training loss (the grader's own training, seed {seed})",
    },
    "plot.loss.caption": {
        "ja": "採点器が損失 ({loss}) で学習させたときの、エポックごとの訓練データの損失です。下がって平らになれば、学習が進んでいます。",
        "en": "The training loss ({loss}) per epoch while the grader trained this model. A curve that falls and then flattens means the model learned.",
    },
    "plot.loss.x": {"ja": "エポック", "en": "Epoch"},
    "plot.loss.y": {"ja": "損失 ({loss})", "en": "Loss ({loss})"},
    # The recipe's losses (grader/train/losses.py), as the plots name them.
    "loss.mse": {"ja": "MSE", "en": "MSE"},
    "loss.mae": {"ja": "MAE", "en": "MAE"},
    "loss.cross_entropy": {"ja": "交差エントロピー", "en": "cross-entropy"},
    "loss.bce": {"ja": "2 値交差エントロピー", "en": "binary cross-entropy"},
    "loss.bce_with_logits": {"ja": "2 値交差エントロピー (ロジット)", "en": "binary cross-entropy on logits"},
    "loss.nll": {"ja": "負の対数尤度", "en": "negative log-likelihood"},
    "plot.sequence.title": {"ja": "系列と次の値の予測 (テストデータ)", "en": "Sequences and their predicted next value (test data)"},
    "plot.sequence.caption": {
        "ja": "テストデータの最初の {count} 系列 (線) と、それぞれの次の本当の値 (●) と予測値 (×、同じ色) です。× が ● に重なるほど、次の値を正しく予測しています。",
        "en": "The first {count} test sequences (lines), each one's true next value (●) and its prediction (×, in the same colour). The closer each × is to its ●, the better the next value was predicted.",
    },
    "plot.sequence.x": {"ja": "ステップ", "en": "Step"},
    "plot.sequence.y": {"ja": "値", "en": "Value"},
    "plot.yy.title": {"ja": "y-y プロット (テストデータ)", "en": "y-y plot (test data)"},
    "plot.yy.caption": {
        "ja": "実測値と予測値を比べた図です。点が対角線に近いほど、良い予測です。",
        "en": "Observed against predicted values. The closer the points lie to the diagonal, the better the prediction.",
    },
    "plot.yy.x": {"ja": "実測値", "en": "Observed"},
    "plot.yy.y": {"ja": "予測値", "en": "Predicted"},
    "plot.confusion.title": {"ja": "混同行列 (テストデータ)", "en": "Confusion matrix (test data)"},
    "plot.confusion.caption": {
        "ja": "出力が最大になるクラスを予測としたときの件数です。対角線上の数が、正しく分類できたデータの数です。",
        "en": "Counts when the predicted class is the output with the largest value. The numbers on the diagonal are the correctly classified samples.",
    },
    "plot.confusion.x": {"ja": "予測したクラス", "en": "Predicted class"},
    "plot.confusion.y": {"ja": "実際のクラス", "en": "True class"},
    "plot.latent.title": {"ja": "中間層の 2 次元表現 (テストデータ)", "en": "2-D code of the hidden layer (test data)"},
    "plot.latent.caption": {
        "ja": "中間層の 2 次元表現をクラスごとに色分けした図です。クラスごとにまとまっていれば、2 次元に縮約してもクラスの違いが残っています。",
        "en": "The hidden layer's 2-D code, coloured by class. Where the classes form separate groups, the 2-D code keeps what tells them apart.",
    },
    "plot.latent.x": {"ja": "中間層の 1 つ目の値", "en": "Code, first value"},
    "plot.latent.y": {"ja": "中間層の 2 つ目の値", "en": "Code, second value"},
    "audit.title": {"ja": "採点の記録", "en": "Audit"},
    "audit.assignment": {"ja": "課題", "en": "Assignment"},
    "audit.spec": {"ja": "課題仕様の SHA-256", "en": "Spec SHA-256"},
    "audit.seeds": {"ja": "学習の seed", "en": "Training seeds"},
    "audit.submission": {"ja": "提出ファイルの SHA-256", "en": "Submission SHA-256"},
    "audit.date": {"ja": "採点日時", "en": "Graded at"},
    "audit.mode": {"ja": "実行モード", "en": "Mode"},
    "audit.seconds": {"ja": "{seconds} 秒", "en": "{seconds} s"},
    # The class summary (OUT/index.html).
    "summary.title": {"ja": "クラスの採点結果", "en": "Class summary"},
    "summary.counts": {
        "ja": "提出 {total} 件: 採点済み {graded} 件、採点不可 {invalid} 件、エラー {errors} 件",
        "en": "{total} submissions: {graded} graded, {invalid} invalid, {errors} errors",
    },
    "summary.stats": {
        "ja": "採点済みの提出の平均点 {mean}、中央値 {median} ({max} 点満点)",
        "en": "Graded submissions: mean {mean}, median {median} (out of {max})",
    },
    "summary.histogram": {"ja": "得点の分布", "en": "Score distribution"},
    "summary.hist.x": {"ja": "得点", "en": "Score"},
    "summary.hist.y": {"ja": "人数", "en": "Students"},
    "summary.no_graded": {"ja": "採点済みの提出はありません。", "en": "No submission was graded."},
    "summary.pass_rate": {"ja": "確認項目ごとの合格率", "en": "Pass rate per check"},
    "summary.pass_rate_intro": {
        "ja": "採点済みの提出のうち、その確認に合格した割合です。合格率の低い項目は、クラスの多くがつまずいている考え方です。",
        "en": "The share of graded submissions that passed each check. A low rate marks an idea much of the class has missed.",
    },
    "summary.col.rate": {"ja": "合格率", "en": "Pass rate"},
    "summary.col.mean_points": {"ja": "平均点", "en": "Mean points"},
    "summary.col.status": {"ja": "状態", "en": "Status"},
    "summary.col.attention": {"ja": "要確認", "en": "Needs a look"},
    "summary.students": {"ja": "提出者の一覧", "en": "Students"},
    "summary.sort_hint": {
        "ja": "列の見出しを押すと並べ替えられます。提出者の名前から、その人のレポートを開けます。",
        "en": "Press a column heading to sort. A student's name opens their report.",
    },
    "summary.attention": {"ja": "人の確認が必要な提出", "en": "Submissions that need a person"},
    "summary.attention_none": {"ja": "ありません。", "en": "None."},
    "attention.invalid": {"ja": "ファイルを読めませんでした: {message}", "en": "The file could not be read: {message}"},
    "attention.error": {"ja": "採点器の不具合で採点できませんでした: {message}", "en": "A grader fault stopped grading: {message}"},
    "attention.incident": {"ja": "{kind}: {message}", "en": "{kind}: {message}"},
    "attention.unverified": {
        "ja": "計算グラフとして取り出せなかったモデル ({models}) は、サンドボックスの中で採点しました。その点数は未検証です。",
        "en": "Models that could not be captured as a graph ({models}) were graded inside the sandbox: their scores are unverified.",
    },
    "attention.no_model": {
        "ja": "モデルのクラスが 1 つも見つかりませんでした。別のファイルを提出していないか確認してください。",
        "en": "Not one model class was found: check whether the wrong file was handed in.",
    },
    "attention.not_built": {
        "ja": "モデルのクラス ({classes}) は見つかりましたが、どれも作れませんでした。レポートのエラーを確認してください。",
        "en": "Model classes were found ({classes}) but none of them could be built: see the errors in the report.",
    },
    "attention.other_names": {
        "ja": "課題の名前のクラスはありませんが、nn.Module のクラス ({classes}) が定義されています。名前を変えただけかもしれません。",
        "en": "No class has a name the assignment asks for, but the file defines nn.Module classes ({classes}): perhaps only renamed.",
    },
    "attention.too_good": {
        "ja": "{model}: テストデータの MSE が {value} で、満点の基準 {full} よりはるかに小さい値です。正解データを参照していないか確認してください。",
        "en": "{model}: test MSE {value} is far below the full-credit threshold {full}; check that the model does not look the answers up.",
    },
    "attention.bad_score": {
        "ja": "得点 {score} が満点 {max} を超えているか、負の値です。",
        "en": "The score {score} is above the maximum {max} or negative.",
    },
    "attention.similar": {"ja": "{other} と似ています ({score})", "en": "similar to {other} ({score})"},
    "summary.similar": {"ja": "似ている提出", "en": "Similar submissions"},
    "summary.similar_intro": {
        "ja": "名前・書式・コメントの違いを除き、配布したテンプレートのコードを取り除いたうえで、コードがよく似ている提出の組です。似ていることは不正の証拠ではありません。開いて共通部分を見比べ、人が判断してください。",
        "en": "Pairs of submissions whose code is alike once names, formatting and comments are set aside and the template's code is removed. Alike is not proof: open a pair, compare the shared code and judge.",
    },
    "summary.similar_none": {"ja": "似ている提出の組はありません。", "en": "No pair of submissions is alike."},
    "summary.similar_score": {"ja": "類似度 {score}", "en": "similarity {score}"},
    "summary.similar_show": {"ja": "共通部分を並べて見る ({blocks} か所)", "en": "Show the shared code side by side ({blocks} regions)"},
    "summary.similar_where": {"ja": "セル {cell}・{first}〜{last} 行目", "en": "cell {cell}, lines {first}–{last}"},
    # ---- LMS exports: the feedback field of Moodle / Canvas, Gradescope's results.json ----------
    "lms.feedback_graded": {
        "ja": "自動採点: {max} 点中 {score} 点 ({total} 項目中 {passed} 項目に合格)。",
        "en": "Autograded: {score} of {max} points ({passed} of {total} checks passed).",
    },
    "lms.feedback_failed": {"ja": "まだ合格していない項目: {checks}。", "en": "Not passed yet: {checks}."},
    "lms.feedback_invalid": {
        "ja": "提出されたファイルを採点できませんでした: {message}",
        "en": "The file handed in could not be graded: {message}",
    },
    "lms.feedback_error": {
        "ja": "採点器の不具合で採点できませんでした。担当教員が確認します: {message}",
        "en": "A fault of the grader stopped grading; your instructor will look at it: {message}",
    },
    "lms.feedback_see_file": {
        "ja": "詳しくは添付の {file} を見てください。",
        "en": "The attached {file} explains each check.",
    },
    "lms.feedback_written": {
        "ja": "記述問題: {max} 点中 {score} 点 (うち {pending} 点は確認待ち)。",
        "en": "Written answers: {score} of {max} points ({pending} points pending review).",
    },
    # ---- written questions (grader/written.py): found by the grader, scored by a person -----------
    "written.title": {"ja": "記述問題", "en": "Written answers"},
    "written.provisional": {
        "ja": "仮の判定: 下の「触れている点」は、回答に評価観点の語句が含まれるかを機械的に調べただけのもので、採点ではありません。点数は担当教員が回答を読んで付けます。",
        "en": "Provisional: the points \"mentioned\" below only say that the answer contains the rubric's phrases; this is not a score. Your instructor reads the answer and sets the points.",
    },
    "written.pending": {"ja": "確認待ち", "en": "pending review"},
    "written.missing": {"ja": "回答が見つかりません", "en": "no answer found"},
    "written.reviewed": {"ja": "確認済み", "en": "reviewed"},
    "written.summary": {
        "ja": "記述問題: {max} 点中 {score} 点 ({pending} 点は確認待ち)。記述を含む合計: {total_max} 点中 {total} 点。",
        "en": "Written answers: {score} of {max} points ({pending} points pending review). Total with the written answers: {total} of {total_max}.",
    },
    "written.length": {"ja": "{length} 文字", "en": "{length} characters"},
    "written.cut": {"ja": "(最初の {shown} 文字を表示)", "en": "(the first {shown} characters shown)"},
    "written.covered": {"ja": "触れている点 (仮)", "en": "Appears to mention (provisional)"},
    "written.not_covered": {"ja": "見当たらない点 (仮)", "en": "Not found (provisional)"},
    "written.none": {"ja": "なし", "en": "none"},
    "written.comment": {"ja": "教員のコメント", "en": "Instructor's comment"},
    "written.where.tag": {"ja": "タグの付いたセル", "en": "the tagged cell"},
    "written.where.heading": {"ja": "見出しの下のセル", "en": "the cells under the heading"},
    "written.where.docstring": {"ja": "モジュールの docstring", "en": "the module's docstring"},
    "written.where.file": {"ja": "ファイル {file}", "en": "the file {file}"},
    "written.found_in": {"ja": "見つけた場所: {where}", "en": "Found in {where}"},
    "written.missing_help": {
        "ja": "「{heading}」の見出しの下のマークダウンセル (モジュールなら docstring の「{heading}」の後、zip なら answer.txt) に回答を書いてください。",
        "en": "Write your answer in the markdown cells under the heading \"{heading}\" (in a module: after \"{heading}\" in its docstring; in a zip: answer.txt).",
    },
    "gradescope.summary": {"ja": "{max} 点中 {score} 点", "en": "{score} of {max} points"},
    "gradescope.no_file": {
        "ja": "提出物の中に .ipynb も .py も見つかりませんでした。ノートブックかモジュールを提出してください。",
        "en": "The submission holds no .ipynb or .py file. Hand in a notebook or a module.",
    },
    # ---- the LTI pages (a student or an instructor launched from the course) -------------------------
    "lti.hand_in": {"ja": "提出する", "en": "Hand in"},
    "lti.choose_file": {"ja": "ノートブック (.ipynb)、モジュール (.py) またはそれを含む .zip を選んでください。",
                        "en": "Choose your notebook (.ipynb), module (.py), or a .zip holding one."},
    "lti.sending": {"ja": "送信中…", "en": "Sending…"},
    "lti.your_submissions": {"ja": "あなたの提出", "en": "Your submissions"},
    "lti.none_yet": {"ja": "まだ提出はありません。", "en": "Nothing handed in yet."},
    "lti.when": {"ja": "提出日時", "en": "Handed in"},
    "lti.file": {"ja": "ファイル", "en": "File"},
    "lti.state": {"ja": "状態", "en": "State"},
    "lti.score": {"ja": "得点", "en": "Score"},
    "lti.report": {"ja": "レポート", "en": "Report"},
    "lti.open_report": {"ja": "開く", "en": "open"},
    "lti.state.queued": {"ja": "採点待ち", "en": "waiting"},
    "lti.state.running": {"ja": "採点中", "en": "grading"},
    "lti.state.done": {"ja": "採点済み", "en": "graded"},
    "lti.grade_sent": {"ja": "得点は LMS の成績表に送られます。", "en": "Your score goes to the course's gradebook."},
    "lti.class": {"ja": "クラスの提出状況", "en": "The class"},
    "lti.student": {"ja": "学生", "en": "Student"},
    "lti.submissions": {"ja": "提出数", "en": "Submissions"},
    "lti.latest": {"ja": "最新の得点", "en": "Latest score"},
    "lti.gradebook": {"ja": "LMS の成績表", "en": "LMS gradebook"},
    "lti.passback.sent": {"ja": "送信済み", "en": "sent"},
    "lti.passback.pending": {"ja": "送信待ち ({attempts} 回失敗: {error})", "en": "waiting ({attempts} failed: {error})"},
    "lti.passback.queued": {"ja": "送信待ち", "en": "waiting"},
    "lti.not_handed_in": {"ja": "未提出", "en": "not handed in"},
    "lti.roster_unavailable": {"ja": "名簿を LMS から読めませんでした: {error}", "en": "The roster could not be read from the LMS: {error}"},
    "lti.download_csv": {"ja": "成績 CSV をダウンロード", "en": "Download the grades (CSV)"},
    "lti.choose_assignment": {"ja": "このリンクで採点する課題を選んでください", "en": "Choose the assignment this link grades"},
    "lti.add_link": {"ja": "コースに追加する", "en": "Add to the course"},
    # ---- the self-check in a student's notebook (grader.check) ---------------------------------
    "selfcheck.heading": {"ja": "セルフチェック: {title}", "en": "Self-check: {title}"},
    "selfcheck.unsandboxed": {
        "ja": "あなた自身の Python の中で、採点用のサンドボックスを使わずに実行しました (あなたのコードをあなたのマシンで動かしただけです)。"
              "採点では保存したノートブックをサンドボックスで実行し、ここに表示されない確認もあります。",
        "en": "Run in your own Python, without the grader's sandbox: it is your code on your machine. The grading runs "
              "your saved notebook in the sandbox, and may have checks that are not shown here.",
    },
    "selfcheck.withheld": {"ja": "採点には、ここに表示されない確認もあります。",
                           "en": "The grading has more checks than the ones shown here."},
    "selfcheck.which_assignment": {
        "ja": "どの課題か指定してください: grader.check(\"{model}\", assignment=\"課題名\") (候補: {known})",
        "en": "Which assignment? Name it: grader.check(\"{model}\", assignment=\"NAME\") (known: {known})",
    },
    "selfcheck.unknown_model": {"ja": "課題 {assignment} にモデル {model} はありません (あるのは: {known})",
                                "en": "Assignment {assignment} has no model {model} (it has: {known})"},
    "lti.refused": {"ja": "この起動は受け付けられませんでした", "en": "This launch was refused"},
    "lti.refused_hint": {"ja": "コースのページからもう一度開いてください。続く場合は担当教員に伝えてください。",
                         "en": "Open the activity again from the course page; if this goes on, tell your instructor."},
}



def _derived_metric_texts() -> dict[str, dict[str, str]]:
    """The texts of the metrics beyond MSE and accuracy (grader.checks.metrics.KINDS), said as those
    are: an error as the MSE is (MAE), a score as the accuracy is (macro-F1; R², which is on values,
    with the MSE's hints and its flat-prediction message)."""
    derived: dict[str, dict[str, str]] = {}
    for kind, texts, hints, ja, en in (("mae", "mse", "mse", "MAE", "MAE"),
                                       ("r2", "accuracy", "mse", "決定係数 R² ", "R²"),
                                       ("macro_f1", "accuracy", "accuracy", "マクロ F1 ", "macro-F1")):
        for key in ("metric.full", "metric.partial", "metric.zero", "metric.constant"):
            like = hints if key == "metric.constant" else texts
            source, hint = CATALOGUE[f"{key}.{like}"], CATALOGUE[f"{key}.{hints}"]
            words = {"ja": ("MSE" if like == "mse" else "正解率", ja), "en": ("MSE" if like == "mse" else "accuracy", en)}
            entry: dict[str, str] = {lang: source[lang].replace(*words[lang]) for lang in LANGS}
            entry.update({field: hint[field] for field in ("hint_ja", "hint_en") if field in hint})
            derived[f"{key}.{kind}"] = entry
    return derived


CATALOGUE.update(_derived_metric_texts())

@dataclass(frozen=True)
class Messages:
    """The texts of one language: the assignment's (`overlay`, from its messages file) over the catalogue's."""

    lang: Lang
    overlay: MessageOverlay = MessageOverlay()

    def text(self, key: str, **params: object) -> str:
        return self._template(key, self.lang).format(**params)

    def hint(self, key: str, **params: object) -> str:
        template = self._template(key, f"hint_{self.lang}")
        return template.format(**params) if template else ""

    def class_names(self, default: Sequence[str]) -> tuple[str, ...]:
        """The names of a data set's classes in this language: the assignment's, else `default` (the
        data set's own). The assignment's count was checked against the data set when it loaded."""
        names = self.overlay.class_names.get(self.lang)
        return tuple(names) if names is not None and len(names) == len(default) else tuple(default)

    def _template(self, key: str, field: str) -> str:
        given = self.overlay.entries.get(key)
        if given is not None and field in given:
            return given[field]
        entry = CATALOGUE[key]
        return entry[field] if field in LANGS else entry.get(field, "")


def placeholders(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def overlay_problems(overlay: MessageOverlay) -> list[str]:
    """What an assignment's messages say that the catalogue cannot take: a key it does not have, or a
    placeholder its entry has in none of its texts (the code fills only those)."""
    problems = []
    for key, texts in overlay.entries.items():
        entry = CATALOGUE.get(key)
        if entry is None:
            problems.append(f"{MESSAGES_FILE}: {key}: not a key of the grader's messages (grader/i18n.py)")
            continue
        known = set().union(*(placeholders(text) for text in entry.values()))
        for field, text in texts.items():
            try:
                unknown = placeholders(text) - known
            except ValueError as exc:  # a lone { or }
                problems.append(f"{MESSAGES_FILE}: {key}.{field}: not a valid text ({exc})")
                continue
            if unknown:
                problems.append(f"{MESSAGES_FILE}: {key}.{field}: placeholder(s) {', '.join(sorted(unknown))} "
                                f"unknown here (this message has: {', '.join(sorted(known)) or 'none'})")
    return problems
