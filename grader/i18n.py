"""One message catalogue, Japanese and English: every sentence the grader shows a person.

Each entry has a message and, where a student can act on it, a hint that points to the lesson's
idea behind it. `tests/test_i18n.py` walks the catalogue: no entry may miss a language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
        "ja": "{file} にノートブックが複数あり、どれを採点するか決められません: {files}",
        "en": "{file} holds several notebooks and the grader cannot tell which to grade: {files}",
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
    "run.malformed": {
        "ja": "採点用の観測データのうち {count} 行が不正な形式だったため無視しました。",
        "en": "{count} line(s) of observations were malformed and were ignored.",
    },
    "run.grader_fault": {
        "ja": "採点器の内部エラーで採点できませんでした: {error}",
        "en": "The grader failed internally and could not grade this submission: {error}",
    },
    "where.cell": {"ja": "セル {cell} の {line} 行目", "en": "cell {cell}, line {line}"},
    "error.skipped_name": {
        "ja": "— 「{name}」はセル {cell} の {line} 行目で定義されていますが、定義モードではその文 (学習ループや計算) は実行されません。クラスの中で必要な値は、クラスの引数にするか、定数として定義してください。",
        "en": "— '{name}' is set in cell {cell}, line {line}, but definitions mode does not run that statement (training loops and computations are skipped). Pass the value as a constructor argument or define it as a constant.",
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
        "hint_ja": "オートエンコーダーは中間層への写像を返す {methods} メソッドを持ちます (教材では MLPR を再定義しています)。",
        "hint_en": "The autoencoder has a {methods} method that returns the hidden-layer code (the lesson redefines MLPR for it).",
    },
    "defined.syntax_error": {
        "ja": "セル {cell} の {line} 行目に構文エラーがあるため、そのセルは実行されませんでした ({message})。",
        "en": "Cell {cell} has a syntax error at line {line}, so that cell did not run ({message}).",
    },
    "defined.class_raised": {
        "ja": "セル {cell} の {line} 行目のクラス定義でエラー: {error}。",
        "en": "The class definition in cell {cell}, line {line} raised: {error}.",
    },
    "defined.construct_failed": {
        "ja": "{name}({args}) でモデルを作れませんでした: {error}",
        "en": "Could not build the model with {name}({args}): {error}",
        "hint_ja": "__init__ の引数の数と順番が教材と同じか、super().__init__() を呼んでいるか確認してください。",
        "hint_en": "Check that __init__ takes the same arguments, in the same order, as in the lesson, and calls super().__init__().",
    },
    # ---- checks: structure -------------------------------------------------------------------
    "structure.passed": {"ja": "層の構成は期待どおりです: {layers}", "en": "The layers are as expected: {layers}"},
    "structure.layer_count": {
        "ja": "forward で使われる線形層の数が期待と違います。",
        "en": "The forward pass uses a different number of linear layers than expected.",
        "hint_ja": "多層パーセプトロンは「線形層 → シグモイド → 線形層」のように、中間層を 1 つ挟みます。forward で全ての層を使っているか確認してください。",
        "hint_en": "An MLP puts one hidden layer in between: linear → sigmoid → linear. Check that forward uses every layer.",
    },
    "structure.layer_sizes": {
        "ja": "線形層の入力・出力の大きさが期待と違います。",
        "en": "The input/output sizes of the linear layers differ from what is expected.",
        "hint_ja": "torch.nn.Linear(n_input, n_output) の引数が、コンストラクタの引数 (n_input, n_hidden, n_output) に対応しているか確認してください。",
        "hint_en": "Check that torch.nn.Linear(n_input, n_output) takes its sizes from the constructor arguments (n_input, n_hidden, n_output).",
    },
    "structure.missing_sigmoid": {
        "ja": "シグモイド関数が足りません。",
        "en": "A sigmoid is missing.",
        "hint_ja": "分類モデルの出力は確率なので、forward の最後でシグモイド関数 (torch.sigmoid) を通します。MLP では中間層の後にもシグモイドを入れます。",
        "hint_en": "A classifier's outputs are probabilities, so forward ends with a sigmoid (torch.sigmoid); an MLP also applies one after the hidden layer.",
    },
    "structure.activations": {
        "ja": "活性化関数の種類か位置が期待と違います。",
        "en": "The kind or position of the activation functions differs from what is expected.",
        "hint_ja": "教材では活性化関数にシグモイド関数を使っています。線形層との順番を確認してください。",
        "hint_en": "The lesson uses the sigmoid as its activation. Check its order relative to the linear layers.",
    },
    "structure.hidden_fixed": {
        "ja": "隠れ層の大きさがコンストラクタの引数に従っていません (n_hidden={hidden} で作り直したときの層)。",
        "en": "The hidden layer's size does not follow the constructor argument (layers when rebuilt with n_hidden={hidden}).",
        "hint_ja": "__init__ の中で数値を直接書かず、引数 n_hidden を使って torch.nn.Linear を作ってください。",
        "hint_en": "Build the torch.nn.Linear layers from the argument n_hidden instead of writing the number into __init__.",
    },
    "structure.hidden_raised": {
        "ja": "n_hidden={hidden} で作り直すとエラーになりました: {error}",
        "en": "Rebuilding the model with n_hidden={hidden} raised: {error}",
        "hint_ja": "隠れ層の大きさは引数 n_hidden で変えられるようにしてください。",
        "hint_en": "The hidden layer's size should be settable through the argument n_hidden.",
    },
    "structure.not_affine": {
        "ja": "出力が入力の線形 (アフィン) 関数になっていません (ずれ {deviation})。",
        "en": "The output is not a linear (affine) function of the input (deviation {deviation}).",
        "hint_ja": "線形重回帰は y = Wx + b だけです。活性化関数を入れないでください。",
        "hint_en": "Multiple linear regression is just y = Wx + b: leave out any activation function.",
    },
    # ---- checks: forward ---------------------------------------------------------------------
    "forward.passed": {"ja": "出力の形は {found} で期待どおりです。", "en": "The output shape is {found}, as expected."},
    "forward.raised": {
        "ja": "forward がエラーになりました: {error}",
        "en": "forward raised an error: {error}",
        "hint_ja": "教材と同じ形 (バッチの大きさ × 変数の数) の入力で forward を試してみてください。",
        "hint_en": "Try forward on an input shaped like the lesson's (batch size × number of variables).",
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
        "hint_ja": "squeeze() や view(-1) を使わず、(データ数, 出力の数) の 2 次元のまま返してください。目的変数 Y も (N, 1) の形です。",
        "hint_en": "Do not squeeze() or view(-1): return a 2-D (samples, outputs) tensor. The target Y is (N, 1) too.",
    },
    "forward.wrong_shape": {
        "ja": "出力の形が {found} でした。期待される形は {expected} です。",
        "en": "The output shape was {found}; expected {expected}.",
        "hint_ja": "出力層の大きさ (n_output) と、バッチの次元を保っているかを確認してください。",
        "hint_en": "Check the output layer's size (n_output) and that the batch dimension is kept.",
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
        "hint_ja": "出力は確率なので、forward の最後でシグモイド関数を通して 0 から 1 の間に収めます。",
        "hint_en": "The outputs are probabilities: pass them through a sigmoid at the end of forward to keep them between 0 and 1.",
    },
    "range.not_finite": {
        "ja": "出力に NaN または無限大が含まれています。",
        "en": "The outputs contain NaN or infinity.",
        "hint_ja": "exp や割り算を自分で書いていないか確認してください。torch.sigmoid を使うと安全です。",
        "hint_en": "Check any hand-written exp or division; torch.sigmoid is numerically safe.",
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
        "hint_ja": "{method}(x) は中間層 (エンコーダーの出力) を返すメソッドです。次元削減した 2 次元の表現を見るのに使います。",
        "hint_en": "{method}(x) returns the hidden layer (the encoder's output): the 2-D reduced representation.",
    },
    "project.raised": {
        "ja": "{method}(x) がエラーになりました: {error}",
        "en": "{method}(x) raised: {error}",
    },
    "project.wrong_shape": {
        "ja": "{method}(x) の形が {found} でした。期待される形は {expected} です。",
        "en": "{method}(x) had the shape {found}; expected {expected}.",
        "hint_ja": "{method} はデコーダーを通さず、中間層の値 (シグモイドの後) を返します。",
        "hint_en": "{method} returns the hidden layer's values (after the sigmoid), without the decoder.",
    },
    # ---- checks: metrics ---------------------------------------------------------------------
    "metric.full.mse": {
        "ja": "テストデータの MSE は {value} で、満点の基準 {full} 以下です ({seeds} 通りの初期値の{aggregate})。",
        "en": "Test MSE is {value}, within the full-credit threshold {full} ({aggregate} over {seeds} seeds).",
    },
    "metric.partial.mse": {
        "ja": "テストデータの MSE は {value} です。満点の基準は {full} 以下、{zero} 以上で 0 点です (部分点)。",
        "en": "Test MSE is {value}. Full credit needs {full} or less; {zero} or more scores zero (partial credit).",
        "hint_ja": "forward の構成 (活性化関数の有無と位置) を教材と見比べてください。採点器は同じ条件で学習させています。",
        "hint_en": "Compare forward's layers (which activations, where) with the lesson's; the grader trains every submission the same way.",
    },
    "metric.zero.mse": {
        "ja": "テストデータの MSE は {value} で、0 点の基準 {zero} 以上です。",
        "en": "Test MSE is {value}, at or above the zero-credit threshold {zero}.",
        "hint_ja": "出力層に余計な活性化関数がないか (回帰の出力はシグモイドを通しません) 確認してください。",
        "hint_en": "Check for an extra activation on the output layer (a regression output is not passed through a sigmoid).",
    },
    "metric.full.accuracy": {
        "ja": "テストデータの正解率は {value} で、満点の基準 {full} 以上です ({seeds} 通りの初期値の{aggregate})。",
        "en": "Test accuracy is {value}, at or above the full-credit threshold {full} ({aggregate} over {seeds} seeds).",
    },
    "metric.partial.accuracy": {
        "ja": "テストデータの正解率は {value} です。満点の基準は {full} 以上、{zero} 以下で 0 点です (部分点)。",
        "en": "Test accuracy is {value}. Full credit needs {full} or more; {zero} or less scores zero (partial credit).",
        "hint_ja": "出力が最大になる品種を予測とします。出力層の大きさが品種の数 (3) と同じか確認してください。",
        "hint_en": "The predicted species is the output with the largest value; check the output layer has one unit per species (3).",
    },
    "metric.zero.accuracy": {
        "ja": "テストデータの正解率は {value} で、0 点の基準 {zero} 以下です。",
        "en": "Test accuracy is {value}, at or below the zero-credit threshold {zero}.",
        "hint_ja": "出力が最大になる品種を予測とします。forward の構成を教材と見比べてください。",
        "hint_en": "The predicted species is the output with the largest value; compare forward's layers with the lesson's.",
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
        "hint_ja": "損失関数 (MSE) と逆伝播が教材どおりに動くか、小さなデータで試してください。",
        "hint_en": "Check that the loss (MSE) and backpropagation run as in the lesson, on a small batch.",
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
    "skipped.forward_failed": {
        "ja": "forward が動かないため、この確認は行いませんでした。",
        "en": "Not checked: forward did not run.",
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
    "label.incidents": {"ja": "実行時の出来事", "en": "What happened while running"},
    "label.output": {"ja": "提出コードの出力", "en": "Output of the submission"},
    "label.report_title": {"ja": "採点結果", "en": "Grading report"},
    "label.student": {"ja": "提出者", "en": "Student"},
    "label.file": {"ja": "ファイル", "en": "File"},
    "label.duration": {"ja": "所要時間", "en": "Time taken"},
    "label.version": {"ja": "採点器のバージョン", "en": "Grader version"},
}


@dataclass(frozen=True)
class Messages:
    lang: Lang

    def text(self, key: str, **params: object) -> str:
        return CATALOGUE[key][self.lang].format(**params)

    def hint(self, key: str, **params: object) -> str:
        template = CATALOGUE[key].get(f"hint_{self.lang}", "")
        return template.format(**params) if template else ""
