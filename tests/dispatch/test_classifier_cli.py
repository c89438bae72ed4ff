"""``flask --app app classifier train|evaluate``: any label set; bad data never touches the model in use."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from dispatch.classifier import current_model
from matching import classifier

# Tickets routed to three departments: a label set that is not the four services.
DEPARTMENT_ROWS: dict[str, list[tuple[str, str]]] = {
    "城管": [("占道经营", "小区门口有人摆摊占道"), ("违章搭建", "楼顶有人违章搭建铁皮房"),
           ("乱堆杂物", "人行道上堆满了建筑垃圾"), ("占道经营", "夜市摊贩占用消防通道"),
           ("违规广告", "路边电线杆贴满小广告"), ("违章搭建", "一楼商铺私自扩建雨棚"),
           ("乱堆杂物", "绿化带里被人扔了旧家具"), ("占道经营", "水果店把货架摆到马路上")],
    "水务": [("停水", "我们楼今天一直停水没有通知"), ("水压", "家里水压太小热水器打不着"),
           ("水质", "自来水有黄色的锈水"), ("停水", "整个小区突然停水了"),
           ("水管爆裂", "路边的自来水管爆了一直在冒水"), ("水质", "自来水有股怪味不敢喝"),
           ("水压", "高层住户水压不够用水困难"), ("水管爆裂", "井盖下面的水管破了水流到路上")],
    "教育": [("学位", "孩子明年上小学学位怎么申请"), ("入学", "非深户孩子入学需要什么材料"),
           ("转学", "孩子想从外地转学过来怎么办"), ("学位", "小一学位积分怎么计算"),
           ("课后托管", "学校有没有课后托管服务"), ("入学", "幼儿园入学报名什么时候开始"),
           ("转学", "初中转学需要哪些手续"), ("课后托管", "放学太早家长接不了孩子")],
}
COLUMNS = ["subject", "detail", "department"]
TEXT_OPTIONS = ["--text-column", "subject,detail", "--label-column", "department"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def department_rows() -> list[list[str]]:
    return [[subject, detail, label] for label, rows in DEPARTMENT_ROWS.items() for subject, detail in rows]


@pytest.fixture
def departments(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "tickets.csv", department_rows())


@pytest.fixture
def model_in_use(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The file and the object of the model the app classifies with, as they are before the test."""
    with app.app_context():
        model = current_model()
    path = Path(app.config["CLASSIFIER_PATH"])
    return {"path": path, "bytes": path.read_bytes(), "mtime": path.stat().st_mtime_ns, "model": model}


def assert_model_unchanged(app, before: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    path = before["path"]
    assert path.read_bytes() == before["bytes"]
    assert path.stat().st_mtime_ns == before["mtime"]
    with app.app_context():
        assert current_model() is before["model"]


def invoke(runner: Any, *args: str) -> Any:
    return runner.invoke(args=list(args))


# --- train ------------------------------------------------------------------------------------

def test_training_on_a_custom_label_set_with_output_saves_a_model_that_loads(runner, departments, tmp_path):
    output = tmp_path / "departments.joblib"

    result = invoke(runner, "classifier", "train", "--data", str(departments), *TEXT_OPTIONS,
                    "--output", str(output))

    assert result.exit_code == 0, result.output
    model = classifier.load(output)
    assert model.labels == tuple(sorted(DEPARTMENT_ROWS))
    assert model.n_samples == len(department_rows())
    assert model.predict("小区停水了").label == "水务"
    assert str(output) in result.output


def test_training_on_a_custom_label_set_leaves_the_model_in_use_alone(
        app, runner, departments, tmp_path, model_in_use):
    invoke(runner, "classifier", "train", "--data", str(departments), *TEXT_OPTIONS,
           "--output", str(tmp_path / "departments.joblib"))

    assert_model_unchanged(app, model_in_use)


def test_training_other_labels_without_output_is_refused_and_the_model_in_use_stays(app, runner, departments,
                                                                                    model_in_use):
    result = invoke(runner, "classifier", "train", "--data", str(departments), *TEXT_OPTIONS)

    assert result.exit_code == 1
    assert "--output" in result.output and "四项服务" in result.output
    assert_model_unchanged(app, model_in_use)


def test_training_on_the_shipped_corpus_replaces_the_model_in_use(app, runner, tmp_path):
    app.config["CLASSIFIER_PATH"] = str(tmp_path / "model.joblib")

    result = invoke(runner, "classifier", "train")

    assert result.exit_code == 0, result.output
    saved = classifier.load(app.config["CLASSIFIER_PATH"])
    assert set(saved.labels) == {"public", "social", "market", "volunteer"}
    with app.app_context():
        assert current_model().version == saved.version


def test_a_model_trained_on_own_service_data_is_still_in_use_after_a_restart(
        app, runner, tmp_path, monkeypatch):
    app.config["CLASSIFIER_PATH"] = str(tmp_path / "model.joblib")
    texts, labels = classifier.read_labelled_csv(classifier.CORPUS_PATH)
    own = write_csv(tmp_path / "own.csv", [[t, label] for t, label in zip(texts[::2], labels[::2])],
                    ["text", "service"])
    assert invoke(runner, "classifier", "train", "--data", str(own)).exit_code == 0
    trained = classifier.load(app.config["CLASSIFIER_PATH"]).version

    monkeypatch.setattr("dispatch.classifier._models", {})  # a new process has no model loaded yet
    with app.app_context():
        assert current_model().version == trained


# --- bad data: a clear error, and the model in use as it was -----------------------------------

# Service labels, so that training without --output gets as far as the model in use would be replaced.
ONE_CLASS = [["路灯", f"第{i}栋楼道路灯坏了", "public"] for i in range(10)]
EMPTY_TEXT = [*department_rows()[:5], ["", "", "城管"], *department_rows()[5:]]


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("rows, header, options, named", [
    pytest.param(ONE_CLASS, COLUMNS, TEXT_OPTIONS, "至少需要 2 个类别", id="one class"),
    pytest.param(EMPTY_TEXT, COLUMNS, TEXT_OPTIONS, "第 7 行的文本或标签为空", id="empty text"),
    pytest.param(department_rows(), ["subject", "detail", "dept"], TEXT_OPTIONS, "缺少列：department",
                 id="missing column"),
    pytest.param(department_rows(), COLUMNS, ["--text-column", "subject,body", *TEXT_OPTIONS[2:]],
                 "缺少列：body", id="missing text column"),
])
def test_unusable_training_data_exits_1_naming_the_problem_and_keeps_the_model(
        app, runner, tmp_path, model_in_use, command, rows, header, options, named):
    data = write_csv(tmp_path / "bad.csv", rows, header)

    result = invoke(runner, "classifier", command, "--data", str(data), *options)

    assert result.exit_code == 1, result.output
    assert named in result.output
    assert_model_unchanged(app, model_in_use)


def test_a_service_file_with_empty_texts_is_refused_without_output_too(app, runner, tmp_path, model_in_use):
    # The path that would overwrite the model in use: labels are services and there is no --output.
    rows = [[f"第{i}栋楼道路灯坏了", "public"] for i in range(8)] + [[f"厨房水管漏水第{i}次", "market"] for i in range(8)]
    data = write_csv(tmp_path / "services.csv", [*rows, ["   ", "market"]], ["text", "service"])

    result = invoke(runner, "classifier", "train", "--data", str(data))

    assert result.exit_code == 1
    assert "文本或标签为空" in result.output
    assert_model_unchanged(app, model_in_use)


def test_too_few_examples_of_a_class_name_the_class(app, runner, tmp_path, model_in_use):
    rows = [[f"第{i}栋楼道路灯坏了", "public"] for i in range(8)] + [["厨房水管漏水", "market"]] * 2
    data = write_csv(tmp_path / "services.csv", rows, ["text", "service"])

    result = invoke(runner, "classifier", "train", "--data", str(data))

    assert result.exit_code == 1
    assert "样本太少" in result.output and "market" in result.output
    assert_model_unchanged(app, model_in_use)


# --- evaluate ---------------------------------------------------------------------------------

def test_evaluate_prints_accuracy_macro_f1_and_a_confusion_matrix_of_the_custom_labels(runner, departments):
    result = invoke(runner, "classifier", "evaluate", "--data", str(departments), *TEXT_OPTIONS)

    assert result.exit_code == 0, result.output
    assert "准确率 accuracy" in result.output and "宏平均 macro-F1" in result.output
    lines = result.output.splitlines()
    matrix_at = next(i for i, line in enumerate(lines) if "混淆矩阵" in line)
    header, *rows = lines[matrix_at + 1: matrix_at + 2 + len(DEPARTMENT_ROWS)]
    assert all(label in header for label in DEPARTMENT_ROWS)
    assert sorted(row.split()[0] for row in rows) == sorted(DEPARTMENT_ROWS)
    # Each department has 8 examples, each predicted once: every row of the matrix sums to 8.
    assert [sum(int(n) for n in row.split()[1:]) for row in rows] == [8, 8, 8]


def test_evaluate_uses_the_folds_asked_for(runner, departments):
    result = invoke(runner, "classifier", "evaluate", "--data", str(departments), *TEXT_OPTIONS,
                    "--folds", "3")

    assert result.exit_code == 0, result.output
    assert "3 折分层交叉验证" in result.output
