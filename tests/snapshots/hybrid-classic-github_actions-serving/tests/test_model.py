"""The model itself, without MLflow: it learns the fares and copes with what scoring sends."""

from taxi_fare_mlops import config, features, model, sample_data


def test_pipeline_learns_fares():
    frame = features.training_rows(features.add_features(sample_data.generate_trips(3_000)))
    fit, holdout = features.split_holdout(frame)
    pipeline = model.build_pipeline().fit(fit[features.MODEL_FEATURES], fit[features.LABEL])
    metrics = model.regression_metrics(
        holdout[features.LABEL], pipeline.predict(holdout[features.MODEL_FEATURES])
    )
    assert metrics["r2"] > 0.85
    assert metrics["rmse"] < config.MAX_RMSE


def test_pipeline_copes_with_unseen_categories():
    frame = features.add_features(sample_data.generate_trips(500))
    pipeline = model.build_pipeline().fit(frame[features.MODEL_FEATURES], frame[features.LABEL])
    unseen = frame[features.MODEL_FEATURES].head(3)
    for column in features.CATEGORICAL_FEATURES:
        unseen = unseen.assign(**{column: 99999})
    assert pipeline.predict(unseen).shape == (3,)
