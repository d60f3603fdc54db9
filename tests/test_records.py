"""The result record contract: what the harness writes and what tables, figures and the regression read."""

import copy
import json

import pytest
from test_protocols import fake_record

from ezclip import records
from ezclip.records import RecordError, read_record, read_records, validate, write_record


def write(path, record):
    path.write_text(json.dumps(record))
    return path


def test_a_complete_record_round_trips(tmp_path):
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    assert read_record(write_record(tmp_path / "r.json", record)) == record


def test_a_missing_field_is_named_with_the_file(tmp_path):
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    del record["model"]["arch"]
    path = write(tmp_path / "r.json", record)
    with pytest.raises(
        RecordError, match=rf"^{tmp_path}/r.json: not a valid result record: record.model.arch is missing"
    ):
        read_records(tmp_path)
    with pytest.raises(RecordError, match="record.model.arch is missing"):
        write_record(tmp_path / "w.json", record)  # nothing malformed is written either
    assert not (tmp_path / "w.json").exists() and path.exists()


def test_a_wrong_type_is_named():
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    record["eval"]["videos_evaluated"] = "10"
    with pytest.raises(RecordError, match="record.eval.videos_evaluated is str, expected int"):
        validate(record, "r.json")
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    record["metrics"]["top1"] = None
    with pytest.raises(RecordError, match="record.metrics.top1 is NoneType, expected float"):
        validate(record, "r.json")
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    record["status"] = "done"
    with pytest.raises(RecordError, match="record.status is 'done', expected one of"):
        validate(record, "r.json")
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    record["eval"]["decoders"] = ["decord", 2]  # a list's items are checked too
    with pytest.raises(RecordError, match=r"record.eval.decoders\[1\] is int, expected str"):
        validate(record, "r.json")
    record["eval"]["decoders"] = "decord"
    with pytest.raises(RecordError, match="record.eval.decoders is str, expected a list"):
        validate(record, "r.json")
    validate(dict(record, eval=dict(record["eval"], decoders=["torchcodec", "decord", "pyav"])), "r.json")


def test_status_decides_what_else_is_required():
    ok = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    del ok["metrics"]
    with pytest.raises(RecordError, match=r"record.metrics is missing \(status ok\)"):
        validate(ok, "r.json")
    skipped = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    skipped["status"] = "skipped"
    with pytest.raises(RecordError, match=r"record.reason is missing \(status skipped\)"):
        validate(skipped, "r.json")
    validate(dict(skipped, reason="evaluation list missing"), "r.json")


def test_schemas_older_ones_read_unknown_ones_refused(tmp_path):
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    old = dict(record, schema=1, protocol={k: v for k, v in record["protocol"].items() if k != "report"})
    assert read_record(write(tmp_path / "old.json", old))["protocol"]["report"] == dict(table="accuracy")
    two = {k: v for k, v in record.items() if k != "inputs"}
    two = dict(two, schema=2, eval={k: v for k, v in record["eval"].items() if k != "provenance"})
    assert read_record(write(tmp_path / "two.json", two)) == two  # what schema 3 added is not asked of it
    with pytest.raises(RecordError, match=r"record.inputs is missing \(schema 3\); record.eval.provenance is missing"):
        validate(dict(two, schema=3), "r.json")
    with pytest.raises(RecordError, match=r"r.json: .*schema 4 is not one this harness reads \(1, 2, 3\)"):
        validate(dict(record, schema=4), "r.json")
    with pytest.raises(RecordError, match="schema None"):
        validate({k: v for k, v in record.items() if k != "schema"}, "r.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RecordError, match="bad.json: not a valid result record: not JSON"):
        read_records(tmp_path)


def test_ids_are_built_in_one_place():
    record = fake_record("zeroshot", "m", "hmdb51", "test_split1", 0.5)
    assert records.job_id(record) == "zeroshot/m/s/hmdb51/test_split1"
    variant = copy.deepcopy(record)
    variant["protocol"]["variant"], variant["subset"] = "ezclip_repo", 4
    assert (
        records.record_protocol_id(variant) == "zeroshot+ezclip_repo" == records.protocol_id("zeroshot", "ezclip_repo")
    )
    assert records.record_benchmark_id(variant) == "full-subset4" and records.record_benchmark_id(record) == "full"
