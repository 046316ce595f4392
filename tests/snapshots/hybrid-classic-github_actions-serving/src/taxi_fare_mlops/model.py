"""Edit here: the model and its hyper-parameters.

`build_pipeline` is what `train` fits on the feature columns (`features.MODEL_FEATURES`);
`PARAMS` are its hyper-parameters, logged with every run. The metrics it is judged by, and the
one validation gates on, are declared in `contract.py`. To try another estimator, change
`build_pipeline` (and `PARAMS`); if MLflow then refuses to load the model, add the types it
names to `TRUSTED_TYPES`.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from . import config, features

PARAMS = {"max_iter": 120, "learning_rate": 0.15, "max_leaf_nodes": 31}

# The model is stored with skops, which (unlike pickle) loads only types it is told to trust.
# These are the pipeline's own parts, reviewed; a new estimator may need its types added here.
TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


def build_pipeline(params: dict | None = None) -> Pipeline:
    """Categorical codes as categories (rare ones pooled), gradient-boosted trees on top.

    Trees need no scaling and pick up steps in the data (in the example, the tariff's night and
    rush-hour surcharges) by themselves, which keeps the feature code short.
    """
    categorical = list(features.CATEGORICAL_FEATURES)
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        # Negative codes are "missing" to the trees: a category never seen in training.
        unknown_value=-1,
        encoded_missing_value=-1,
        max_categories=60,
    )
    # The encoded categories come first, the other features pass through after them.
    columns = ColumnTransformer(
        [("categories", codes, categorical)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    estimator = HistGradientBoostingRegressor(
        **{**PARAMS, **(params or {})},
        categorical_features=list(range(len(categorical))),
        random_state=config.SEED,
    )
    return Pipeline([("columns", columns), ("model", estimator)])
