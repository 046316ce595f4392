"""`classifier_model.py`, the model a classifier is logged and served as. Tested in every
project: one whose contract turns to classification logs its models with it."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from {{ cookiecutter.__package_name }} import contract
from {{ cookiecutter.__package_name }}.mlops import outputs


def test_it_answers_class_and_probabilities_as_scoring_stores_them(tmp_path, monkeypatch):
    # Imported here: the module imports MLflow and skops, which would cost every test worker
    # about two seconds while collecting, whether or not it runs this test.
    import skops.io
    from sklearn.linear_model import LogisticRegression

    from {{ cookiecutter.__package_name }}.mlops import classifier_model

    monkeypatch.setattr(contract, "PROBLEM_TYPE", "classification")
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    labels = (rows["a"] > 0).astype(int) + (rows["b"] > 0.5).astype(int)  # classes 0, 1, 2
    pipeline = LogisticRegression().fit(rows, labels)
    saved = tmp_path / "pipeline.skops"
    skops.io.dump(pipeline, saved)
    served = classifier_model.ClassAndProbabilities()
    served.load_context(
        SimpleNamespace(
            artifacts={classifier_model.PIPELINE: str(saved)},
            model_config={"trusted_types": [], "classes": [0, 1, 2]},
        )
    )
    answer = served.predict(None, rows)
    # What a serving endpoint sends, row by row, is what batch scoring and `serve` write.
    expected = outputs.records(pipeline.predict_proba(rows), [0, 1, 2])
    assert answer.to_dict(orient="records") == expected
    assert answer[outputs.PREDICTION].tolist() == pipeline.predict(rows).tolist()
