"""Local table IO (the Spark implementation is exercised by test_spark.py)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from taxi_fare_mlops import config, contract, sample_data
from taxi_fare_mlops.mlops import tables
from taxi_fare_mlops.mlops.errors import MlopsError

# An input column of each kind (the contract's first), for tests of reads by column and value.
NUMBER = next(name for name, rule in contract.INPUT_COLUMNS.items() if rule.kind == "number")
INTEGER = next(name for name, rule in contract.INPUT_COLUMNS.items() if rule.kind == "integer")

DEV = config.DEV_CATALOG


@pytest.fixture
def store():
    return tables.for_runtime()


def test_local_runs_use_the_local_delta_tables(store):
    assert isinstance(store, tables.LocalTables)


def test_tables_live_under_the_local_warehouse(session_local_dir):
    path = tables.LocalTables.path(f"{DEV}.s.t")
    assert path == session_local_dir / "warehouse" / DEV / "s" / "t"


def test_write_read_append_and_overwrite(store, schema):
    table = f"{DEV}.{schema}.trips"
    assert not store.exists(table)
    trips = sample_data.generate_rows(100)
    store.write(trips, table)
    assert store.exists(table)
    back = store.read(table)
    assert list(back.columns) == sample_data.COLUMNS
    assert store.columns(table) == sample_data.COLUMNS
    assert len(back) == 100
    assert back[contract.TIMESTAMP].tolist() == trips[contract.TIMESTAMP].tolist()

    store.write(trips, table, mode="append")
    assert store.count(table) == 200
    store.write(trips.head(10), table, mode="overwrite")
    assert store.count(table) == 10


def test_replace_swaps_exactly_one_slice(store, schema):
    table = f"{DEV}.{schema}.batches"
    first = pd.DataFrame({"batch_id": ["a"] * 3, "value": [1, 2, 3]})
    second = pd.DataFrame({"batch_id": ["b"] * 2, "value": [4, 5]})
    store.write(first, table, mode="append", replace={"batch_id": "a"})
    store.write(second, table, mode="append", replace={"batch_id": "b"})
    store.write(first.assign(value=9), table, mode="append", replace={"batch_id": "a"})
    result = store.read(table).sort_values(["batch_id", "value"])
    assert result["batch_id"].tolist() == ["a", "a", "a", "b", "b"]
    assert result["value"].tolist() == [9, 9, 9, 4, 5]


def test_replace_refuses_quotes(store, schema):
    with pytest.raises(MlopsError, match="quotes"):
        store.write(pd.DataFrame({"k": ["x"]}), f"{DEV}.{schema}.t", replace={"k": "x' OR 1=1"})


def test_upsert_and_fill_missing(store, schema):
    target, source = f"{DEV}.{schema}.target", f"{DEV}.{schema}.source"
    key_schema = tables.arrow_schema({"k": "long", "v": "double"})
    store.upsert(pd.DataFrame({"k": [1, 2], "v": [1.0, 2.0]}), source, key="k", schema=key_schema)
    store.upsert(pd.DataFrame({"k": [2, 3], "v": [9.0, 3.0]}), source, key="k", schema=key_schema)
    assert store.read(source).sort_values("k")["v"].tolist() == [1.0, 9.0, 3.0]

    preds = pd.DataFrame({"k": [1, 2, 4], "v": [5.0, None, None], "b": "x"})
    store.write(tables.to_arrow(preds), target)
    assert store.fill_missing(target, source, key="k", column="v", by="b") == 1
    filled = store.read(target).sort_values("k")["v"].tolist()
    assert filled[:2] == [5.0, 9.0] and pd.isna(filled[2])


def _keyed(keys, values):
    return pd.DataFrame({"k": np.asarray(keys, dtype="int64"), "v": values})


def _unlabelled(keys, slices=1):
    """Predictions of `keys` without a value, scored in `slices` batches (column `b`)."""
    frame = _keyed(keys, None).astype({"v": "float64"})
    frame["b"] = [f"batch{i % slices}" for i in range(len(frame))]
    return frame


KEYED = tables.arrow_schema({"k": "long", "v": "double"})


def test_key_ranges_split_the_keys_evenly_and_cover_every_key():
    keys = np.random.default_rng(3).integers(-(2**62), 2**62, 10_000)
    # A small table is one open range, and its keys are never read.
    assert tables.key_ranges(10_000, lambda: iter(()), chunk_rows=10_000) == [(None, None)]
    ranges = tables.key_ranges(10_000, lambda: iter(np.array_split(keys, 7)), chunk_rows=2_500)
    assert len(ranges) == 4
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    sizes = [int(tables._in_range(keys, low, high).sum()) for low, high in ranges]
    assert sum(sizes) == len(keys)
    # Boundaries from a random sample of the keys: about a quarter each.
    assert all(2_000 <= size <= 3_000 for size in sizes), sizes


def test_sorted_keys_gathers_distinct_keys_even_past_the_expected_count():
    def batches(*chunks):
        return iter(pa.record_batch([pa.array(chunk, pa.int64())], names=["k"]) for chunk in chunks)

    assert tables._sorted_keys(batches([5, 3], [9, 1]), 4).tolist() == [1, 3, 5, 9]
    # More keys than counted (the table grew since), and a key twice: all kept, once each.
    grown = tables._sorted_keys(batches([5, 3], [9, 3, 7], [2]), 2)
    assert grown.tolist() == [2, 3, 5, 7, 9]
    assert tables._sorted_keys(batches(), 0).tolist() == []


def test_chunked_merges_give_the_table_one_merge_gives(store, schema, monkeypatch):
    rng = np.random.default_rng(5)
    keys = rng.choice(np.arange(-5_000, 5_000), size=2_000, replace=False)
    labels = _keyed(keys, rng.uniform(3, 60, len(keys)))
    # Some trips labelled before (one of them with an older fare), some never labelled.
    earlier = _keyed(np.concatenate([keys[:300], [99_999]]), np.full(301, 1.0))
    target = _unlabelled(np.concatenate([keys[::2], [77_777]]), slices=3)
    target.loc[:9, "v"] = 2.0  # already labelled: the fill leaves them alone

    def run(prefix, chunk_rows):
        monkeypatch.setattr(tables, "MERGE_CHUNK_ROWS", chunk_rows)
        names = {part: f"{DEV}.{schema}.{prefix}_{part}" for part in ("raw", "labels", "preds")}
        store.write(labels, names["raw"])
        store.upsert(earlier, names["labels"], key="k", schema=KEYED)
        merged = store.upsert_from(
            names["raw"],
            names["labels"],
            columns=["k", "v"],
            prepare=lambda f: f,
            key="k",
            schema=KEYED,
        )
        store.write(tables.to_arrow(target), names["preds"])
        filled = store.fill_missing(names["preds"], names["labels"], key="k", column="v", by="b")
        return (
            merged,
            filled,
            store.read(names["labels"]).sort_values("k").reset_index(drop=True),
            store.read(names["preds"]).sort_values("k").reset_index(drop=True),
            store._delta(names["labels"]).version(),
            store._delta(names["preds"]).version(),
        )

    one = run("one", 1_000_000)
    chunked = run("chunked", 300)
    assert one[:2] == chunked[:2] == (2_000, 990)
    pd.testing.assert_frame_equal(one[2], chunked[2])
    pd.testing.assert_frame_equal(one[3], chunked[3])
    assert len(one[2]) == 2_001 and one[3]["v"].isna().sum() == 1
    # Several commits, not one: each range is a MERGE of its own.
    assert chunked[4] > one[4] + 1
    # The attach looks labels up range by range too, but rewrites each slice in one commit.
    assert one[5] == chunked[5] == 3


def test_a_fill_stopped_between_slices_is_completed_by_a_rerun(store, schema, monkeypatch):
    import deltalake

    keys = np.arange(1_000) * 7919 - 3_000_000
    source, target = f"{DEV}.{schema}.labels", f"{DEV}.{schema}.preds"
    store.write(_keyed(keys, keys / 1000.0), source)
    store.write(tables.to_arrow(_unlabelled(keys, slices=4)), target)
    real_write = deltalake.write_deltalake
    rewrites = []

    def rewrite_then_crash(table, data, **kwargs):
        if len(rewrites) == 2:
            raise RuntimeError("killed between slices")
        rewrites.append(kwargs["predicate"])
        return real_write(table, data, **kwargs)

    def fill():
        return store.fill_missing(target, source, key="k", column="v", by="b")

    with monkeypatch.context() as patch:
        patch.setattr(deltalake, "write_deltalake", rewrite_then_crash)
        with pytest.raises(RuntimeError, match="killed"):
            fill()
    # Each slice is one commit: two are filled, the others untouched, no row lost or doubled.
    assert rewrites == ["b = 'batch0'", "b = 'batch1'"]
    half = store.read(target)
    assert len(half) == len(keys) and half["v"].notna().sum() == 500
    assert set(half.loc[half["v"].isna(), "b"]) == {"batch2", "batch3"}
    # The rerun fills only what is still empty, and every row ends with its own label.
    assert fill() == 500
    done = store.read(target).sort_values("k")
    assert done["k"].tolist() == sorted(keys.tolist())
    assert (done["v"].to_numpy() == done["k"].to_numpy() / 1000.0).all()
    assert fill() == 0


@pytest.mark.parametrize("chunk_rows", [1_000_000, 1])
def test_fill_rewrites_only_slices_it_changes_and_only_their_empty_rows(
    store, schema, monkeypatch, chunk_rows
):
    # With chunks of one row, each missing key of a slice is looked up in a range of its own;
    # the first of "open" (key 0, no label yet) has nothing to fill, the rewrite starts later.
    monkeypatch.setattr(tables, "MERGE_CHUNK_ROWS", chunk_rows)
    source, target = f"{DEV}.{schema}.labels", f"{DEV}.{schema}.preds"
    store.write(_keyed([1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0]), source)
    preds = pd.DataFrame(
        {
            "k": pd.array([0, 1, 2, 3, None, 4, 5, 6], dtype="Int64"),
            "v": [None, 1.5, None, None, None, 44.0, None, None],
            "b": ["open", "open", "open", "open", "open", "done", "orphan", None],
        }
    )
    store.write(tables.to_arrow(preds), target)
    before = store._delta(target).version()

    assert store.fill_missing(target, source, key="k", column="v", by="b") == 2
    # One commit, for the one slice that had a value to fill: "done" has none missing,
    # "orphan"'s key has no label, and a row without a slice is never rewritten.
    history = store._delta(target).history()
    assert store._delta(target).version() == before + 1
    assert history[0]["operationParameters"]["predicate"] == "b = 'open'"
    after = store.read(target).sort_values(["k", "b"], na_position="last").reset_index(drop=True)
    expected = preds.sort_values(["k", "b"], na_position="last").reset_index(drop=True)
    expected.loc[expected["k"].isin([2, 3]), "v"] = [20.0, 30.0]
    # A value already there is kept (1.5, not 10.0), a row without a key stays as it was.
    pd.testing.assert_frame_equal(after, expected, check_dtype=False)


def test_a_slice_scored_again_during_a_fill_is_not_brought_back(store, schema, monkeypatch):
    keys = np.arange(100)
    source, target = f"{DEV}.{schema}.labels", f"{DEV}.{schema}.preds"
    store.write(_keyed(keys, keys / 10.0), source)
    store.write(tables.to_arrow(_unlabelled(keys)), target)
    # Scored again: half of its trips (50..99) have labels, the others (100..149) not yet.
    rescored = _unlabelled(keys + 50)
    real_dataset = store._dataset
    reads = []

    def rescore_after_the_first_fill_read(name, table=None):
        dataset = real_dataset(name, table)
        if table is not None:  # the fill opened the version it replaces
            reads.append(table.version())
            if len(reads) == 1:
                batch = tables.to_arrow(rescored)
                store.write(batch, target, mode="append", replace={"b": "batch0"})
        return dataset

    monkeypatch.setattr(store, "_dataset", rescore_after_the_first_fill_read)
    # The first commit fails (the batch it read was replaced); the retry reads the new batch.
    assert store.fill_missing(target, source, key="k", column="v", by="b") == 50
    assert len(reads) == 2 and reads[1] > reads[0]
    # The old rows never come back: the batch scored again stands, with its labels attached.
    after = store.read(target).sort_values("k").reset_index(drop=True)
    expected = rescored.assign(v=np.where(rescored["k"] < 100, rescored["k"] / 10.0, np.nan))
    pd.testing.assert_frame_equal(after, expected, check_dtype=False)


@pytest.mark.parametrize("table_exists", [False, True])
def test_an_upsert_keeps_one_row_per_key_listed_in_several_batches(
    store, schema, monkeypatch, table_exists
):
    keys = np.arange(600) * 7919 - 3_000_000
    # Every key twice, the second time 300 rows (several batches) later with another value.
    source = _keyed(np.concatenate([keys[:300], keys, keys[300:]]), np.arange(1_200) / 10.0)
    raw, target = f"{DEV}.{schema}.raw", f"{DEV}.{schema}.labels"
    store.write(source, raw)
    if table_exists:
        store.upsert(_keyed([keys[0]], [-1.0]), target, key="k", schema=KEYED)
    monkeypatch.setattr(tables, "STREAM_BATCH_ROWS", 64)
    monkeypatch.setattr(tables, "MERGE_CHUNK_ROWS", 250)
    merged = store.upsert_from(
        raw, target, columns=["k", "v"], prepare=lambda f: f, key="k", schema=KEYED
    )
    assert merged == len(keys)
    done = store.read(target).sort_values("k").reset_index(drop=True)
    assert done["k"].tolist() == sorted(keys.tolist())
    # The first row of each key wins, whichever batch and range it falls in.
    first = source.drop_duplicates("k").sort_values("k").reset_index(drop=True)
    pd.testing.assert_frame_equal(done, first, check_dtype=False)


def test_an_upsert_stopped_between_chunks_is_completed_by_a_rerun(store, schema, monkeypatch):
    keys = np.arange(1_000) * 7919 - 3_000_000
    source, target = f"{DEV}.{schema}.raw", f"{DEV}.{schema}.labels"
    store.write(_keyed(keys, keys / 1000.0), source)
    monkeypatch.setattr(tables, "MERGE_CHUNK_ROWS", 250)
    real_write = store.write
    writes = []

    def write_then_crash(*args, **kwargs):
        if len(writes) == 2:
            raise RuntimeError("killed between chunks")
        writes.append(args[1])
        return real_write(*args, **kwargs)

    def upsert():
        return store.upsert_from(
            source, target, columns=["k", "v"], prepare=lambda f: f, key="k", schema=KEYED
        )

    with monkeypatch.context() as patch:
        # A new table gets its ranges appended one by one: stop after the second.
        patch.setattr(store, "write", write_then_crash)
        with pytest.raises(RuntimeError, match="killed"):
            upsert()
    assert 0 < store.count(target) < len(keys)
    # The rerun finds the table and merges every range: one row per key, none lost.
    assert upsert() == len(keys)
    done = store.read(target).sort_values("k")
    assert done["k"].tolist() == sorted(keys.tolist())
    assert (done["v"].to_numpy() == done["k"].to_numpy() / 1000.0).all()


def test_a_stream_sample_keeps_exactly_the_rows_with_the_smallest_keys():
    """Rows are dropped as soon as their key cannot make the sample, and none too many."""
    sample = tables._StreamSample(sample_fraction=0.8, max_rows=500, seed=11)
    for start in range(0, 50_000, 1_000):
        sample.add(pa.record_batch([pa.array(np.arange(start, start + 1_000))], names=["row"]))
        assert sample.kept_rows <= 2 * 500 + 1_000
    kept = sample.result(pa.schema([pa.field("row", pa.int64())]), None)["row"].to_numpy()
    # The same draws by hand: one key per row, below the fraction, the 500 smallest, in order.
    keys = np.random.default_rng(11).random(50_000)
    eligible = np.flatnonzero(keys < 0.8)
    expected = np.sort(eligible[np.argsort(keys[eligible])[:500]])
    assert kept.tolist() == expected.tolist()


def test_read_where_columns_sample_and_max_rows(store, schema):
    table = f"{DEV}.{schema}.trips"
    store.write(sample_data.generate_rows(1_000), table)
    # A Bernoulli sample, as Spark's: about the share asked for, the same rows every time.
    sample = store.read(table, sample_fraction=0.1)
    assert 70 <= len(sample) <= 130
    assert sample.equals(store.read(table, sample_fraction=0.1))
    assert len(store.read(table, max_rows=50)) == 50
    assert len(store.read(table, sample_fraction=0.1, max_rows=50)) == 50
    assert list(store.read(table, columns=[NUMBER]).columns) == [NUMBER]
    value = int(store.read(table)[INTEGER].iloc[0])
    rows = store.read(table, where={INTEGER: value})
    assert len(rows) > 0 and (rows[INTEGER] == value).all()
    with pytest.raises(MlopsError, match="sample_fraction"):
        store.read(table, sample_fraction=0)


def test_batches_bound_the_chunk_size(store, schema):
    table = f"{DEV}.{schema}.trips"
    store.write(sample_data.generate_rows(1_050), table)
    sizes = [len(chunk) for chunk in store.batches(table, 200)]
    assert sum(sizes) == 1_050
    assert max(sizes) <= 200


def test_missing_table_is_a_one_line_error(store, schema):
    with pytest.raises(MlopsError, match=f"table {DEV}.{schema}.nothing does not exist"):
        store.read(f"{DEV}.{schema}.nothing")


def test_missing_input_table_hints_at_sample_data(store, fresh_local_dir):
    with pytest.raises(MlopsError, match="sample-data"):
        store.read(config.INPUT_TABLE)


def test_to_arrow_stores_microsecond_timestamps():
    table = tables.to_arrow(sample_data.generate_rows(5))
    assert table.schema.field(contract.TIMESTAMP).type == pa.timestamp("us")


def test_schemas_from_type_names():
    columns = {"id": "long", "x": "double", "at": "timestamp_utc", "name": "string"}
    assert tables.spark_ddl(columns) == "id long, x double, at timestamp, name string"
    assert tables.arrow_schema(columns).field("at").type == pa.timestamp("us", tz="UTC")


def _sorted_table(store, table, rows=20_000):
    """A table whose `position` column rises with the row order of its files, so a read that
    took the first rows instead of a random sample would give a skewed sample."""
    frame = pd.DataFrame({"position": np.arange(rows, dtype="int64"), "pad": 1.0})
    # Several files, as a growing table has: `limit` would take the first of them.
    for start in range(0, rows, rows // 4):
        store.write(frame.iloc[start : start + rows // 4], table, mode="append")
    return frame["position"]


def assert_random_sample(sample, population):
    """The sample's distribution matches the table's (Kolmogorov-Smirnov), and it is not the
    head of the table."""
    assert stats.ks_2samp(sample, population).pvalue > 0.01
    assert sample.max() > population.quantile(0.9)
    assert sample.is_unique


def test_capped_reads_are_random_samples_of_the_whole_table(store, schema):
    table = f"{DEV}.{schema}.sorted"
    population = _sorted_table(store, table)
    sample = store.read(table, columns=["position"], max_rows=1_000)["position"]
    assert len(sample) == 1_000
    assert_random_sample(sample, population)
    # Seeded: the same rows each time, another seed other rows.
    assert sample.equals(store.read(table, columns=["position"], max_rows=1_000)["position"])
    other = store.read(table, columns=["position"], max_rows=1_000, seed=7)["position"]
    assert not other.equals(sample)


def test_newest_is_the_value_at_the_largest_order(store, schema):
    table = f"{DEV}.{schema}.batches"
    frame = pd.DataFrame(
        {"batch_id": ["b", "c", "a"], "at": pd.to_datetime(["2016-01-02", None, "2016-01-03"])}
    )
    assert store.create_if_missing(table, {"batch_id": "string", "at": "timestamp"})
    assert store.newest(table, column="batch_id", order_by="at") is None
    store.write(frame, table, mode="append")
    assert store.newest(table, column="batch_id", order_by="at") == "a"


def test_column_types_name_each_column(store, schema):
    table = f"{DEV}.{schema}.trips"
    store.write(sample_data.generate_rows(10), table)
    types = store.column_types(table)
    assert list(types) == sample_data.COLUMNS
    assert types[NUMBER] == "double" and types[contract.TIMESTAMP].startswith("timestamp")


# --- columns that change under a table that exists (see tables.schema_change) -----------------


def test_appends_and_replaces_merge_new_columns_and_keep_removed_ones(store, schema):
    table = f"{DEV}.{schema}.scored"
    old = pd.DataFrame({"batch_id": ["a", "a"], "key": [1, 2], "gone": [0.5, 0.25]})
    store.write(old, table, mode="append", replace={"batch_id": "a"})
    new = pd.DataFrame({"batch_id": ["b"], "key": [3], "added": [7.0]})
    store.write(new, table, mode="append", replace={"batch_id": "b"})
    store.write(new.assign(batch_id="c", key=4), table, mode="append")
    assert store.columns(table) == ["batch_id", "key", "gone", "added"]
    rows = store.read(table).set_index("key").sort_index()
    assert rows["added"].isna().tolist() == [True, True, False, False]
    assert rows["gone"].isna().tolist() == [False, False, True, True]
    # The rows written before read back the same; a read of some columns works on every file.
    assert rows.loc[[1, 2], "gone"].tolist() == [0.5, 0.25]
    assert store.read(table, columns=["key", "added"], where={"batch_id": "a"}).shape == (2, 2)
    # Replacing the old batch with the new columns fills them there too.
    store.write(old.assign(added=1.0), table, mode="append", replace={"batch_id": "a"})
    assert store.read(table, where={"batch_id": "a"})["added"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("stored", "written", "names"),
    [([1, 2], [1.5, 2.5], ("long", "double")), ([0.5, 1.5], ["x", "y"], ("double", "string"))],
)
@pytest.mark.parametrize("replace", [True, False])
def test_a_changed_type_is_refused_before_anything_is_written(
    store, schema, stored, written, names, replace
):
    table = f"{DEV}.{schema}.scored"
    store.write(pd.DataFrame({"batch_id": ["a", "a"], "value": stored}), table, mode="append")
    with pytest.raises(tables.SchemaConflict) as refused:
        store.write(
            pd.DataFrame({"batch_id": ["b", "b"], "value": written}),
            table,
            mode="append",
            replace={"batch_id": "b"} if replace else None,
        )
    line = str(refused.value)
    assert line.startswith(
        f"table {table}: column value is stored as {names[0]}, this code writes {names[1]}; "
    )
    assert "under a new name" in line and "migrate the table" in line and "\n" not in line
    assert store.read(table)["value"].tolist() == stored


def test_a_replace_by_a_column_the_table_has_not_got_is_refused(store, schema):
    table = f"{DEV}.{schema}.scored"
    store.write(pd.DataFrame({"old_batch": ["a"], "value": [1.0]}), table)
    with pytest.raises(tables.SchemaConflict) as refused:
        store.write(
            pd.DataFrame({"batch_id": ["a"], "value": [2.0]}),
            table,
            mode="append",
            replace={"batch_id": "a"},
        )
    assert str(refused.value).startswith(
        f"table {table} has other columns than this stage writes: it has no batch_id"
    )
    assert store.columns(table) == ["old_batch", "value"] and store.count(table) == 1


def test_schema_change_of_declared_columns_writes_nothing(store, schema):
    table = f"{DEV}.{schema}.scored"
    assert store.schema_change(table, {"key": "long"}) is None
    store.create_if_missing(table, {"key": "long", "gone": "double"})
    change = store.schema_change(table, {"key": "long", "at": "timestamp_utc"}, keys=("key",))
    assert change.added == {"at": store.type_name("timestamp_utc")} and change.kept == ("gone",)
    assert change.summary() == (
        f"{table}: adds column at (null in the rows already there); keeps column gone "
        "(null in new rows)"
    )
    with pytest.raises(tables.SchemaConflict, match="column key is stored as long, this code"):
        store.schema_change(table, {"key": "double"})
    with pytest.raises(tables.SchemaConflict, match="it has no other_key, the key"):
        store.schema_change(table, {"key": "long"}, keys=("other_key",))
    assert store.columns(table) == ["key", "gone"]
    assert tables.declared_columns(tables.arrow_schema({"k": "long", "t": "timestamp_utc"})) == {
        "k": "long",
        "t": "timestamp_utc",
    }


def test_a_column_of_nulls_fits_any_stored_type():
    change = tables.schema_change("c.s.t", {"x": "double", "y": "string"}, {"x": "null"})
    assert change.added == {} and change.kept == ("y",)
    assert tables.schema_change("c.s.t", {"x": "string"}, {"x": "large_string"}).kept == ()
