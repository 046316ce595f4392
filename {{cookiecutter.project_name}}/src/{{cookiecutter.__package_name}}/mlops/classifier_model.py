"""The model a classifier is logged and served as: its class and its probabilities, per row.

MLflow's scikit-learn flavour answers one method of the pipeline, `predict` or `predict_proba`,
so an endpoint serving it answers either the class or the probabilities. This model answers both,
in the names and shape of the predictions table (`outputs.py`), one object per row:
`{"prediction": <class>, "probabilities": {"<class>": <probability>, ...}}`.

It is logged as code (MLflow's "models from code": `train.log_model` gives MLflow this file,
which is copied into every version and run when the version is loaded), with the fitted
pipeline saved by skops beside it: nothing is unpickled, and skops loads only the types the
version was logged with (`model.TRUSTED_TYPES`, in the version's model config). A serving
endpoint installs the version's pip requirements, not this package, so the file imports
nothing of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import skops.io
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

PIPELINE = "pipeline"  # the name of the skops file among the version's artifacts


class ClassAndProbabilities(PythonModel):
    def load_context(self, context) -> None:
        config = context.model_config
        self.pipeline = skops.io.load(
            context.artifacts[PIPELINE], trusted=list(config["trusted_types"])
        )
        self.classes = [int(value) for value in config["classes"]]

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return answer_frame(self.pipeline.predict_proba(model_input), self.classes)


def answer_frame(probabilities, classes: list[int]) -> pd.DataFrame:
    """Probabilities, one column per class in `classes`' order -> the most likely class and
    {class: probability} per row."""
    probabilities = np.asarray(probabilities, dtype="float64")
    names = [str(value) for value in classes]
    return pd.DataFrame(
        {
            "prediction": np.asarray(classes, dtype="int64")[probabilities.argmax(axis=1)],
            "probabilities": [dict(zip(names, row, strict=True)) for row in probabilities.tolist()],
        }
    )


set_model(ClassAndProbabilities())
