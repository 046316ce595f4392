"""Edit here: the model, its hyper-parameters and the metrics it is judged by.

`build_pipeline` is what `train` fits on the feature columns (`features.MODEL_FEATURES`);
`PARAMS` are its hyper-parameters, logged with every run; `regression_metrics` scores it on the
hold-out trips, and validation gates on its `rmse`. To try another estimator, change
`build_pipeline` (and `PARAMS`); if MLflow then refuses to load the model, add the types it
names to `TRUSTED_TYPES`.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
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
    """Zip codes as categories (rare ones pooled), gradient-boosted trees on top.

    Trees need no scaling and pick up the tariff's steps (night and rush-hour surcharges) by
    themselves, which keeps the feature code short.
    """
    categorical = list(features.CATEGORICAL_FEATURES)
    zips = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        # Negative codes are "missing" to the trees: a zip code never seen in training.
        unknown_value=-1,
        encoded_missing_value=-1,
        max_categories=60,
    )
    # The encoded categories come first, the other features pass through after them.
    columns = ColumnTransformer(
        [("categories", zips, categorical)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    estimator = HistGradientBoostingRegressor(
        **{**PARAMS, **(params or {})},
        categorical_features=list(range(len(categorical))),
        random_state=config.SEED,
    )
    return Pipeline([("columns", columns), ("model", estimator)])


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """The metrics logged with every run and compared by validation (which gates on rmse)."""
    return {
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }
