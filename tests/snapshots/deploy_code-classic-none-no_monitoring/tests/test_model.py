"""The model itself, without MLflow: it learns the fares and copes with what scoring sends."""

from taxi_fare_mlops import contract, features, model, sample_data
from taxi_fare_mlops.mlops import dataset, outputs
from taxi_fare_mlops.mlops import metrics as task_metrics

GATE = contract.GATE.metric


def test_pipeline_learns_fares():
    frame = dataset.training_rows(dataset.add_features(sample_data.generate_rows(3_000)))
    fit, holdout = dataset.split_holdout(frame)
    pipeline = model.build_pipeline().fit(fit[features.MODEL_FEATURES], fit[contract.LABEL])
    metrics = task_metrics.compute(
        holdout[contract.LABEL],
        outputs.raw_scores(pipeline, holdout[features.MODEL_FEATURES]),
        outputs.classes_of_pipeline(pipeline),
    )
    assert contract.GATE.passes(metrics[GATE], contract.GATE.threshold)


def test_pipeline_copes_with_unseen_categories():
    frame = dataset.add_features(sample_data.generate_rows(500))
    pipeline = model.build_pipeline().fit(frame[features.MODEL_FEATURES], frame[contract.LABEL])
    unseen = frame[features.MODEL_FEATURES].head(3)
    for column in features.CATEGORICAL_FEATURES:
        unseen = unseen.assign(**{column: 99999})
    assert pipeline.predict(unseen).shape == (3,)
