from ezclip.regression import compare


def test_compare_allows_two_videos_per_job_and_no_more():
    golden = {"m/s/d/l": dict(status="ok", videos=40, top1=0.50)}
    assert compare(golden, {"m/s/d/l": dict(status="ok", videos=40, top1=0.55)}) == []  # 2 of 40 videos
    assert compare(golden, {"m/s/d/l": dict(status="ok", videos=40, top1=0.575)})  # 3 of 40
    assert compare(golden, {"m/s/d/l": dict(status="ok", videos=39, top1=0.50)})  # a video went missing
    assert compare(golden, {}) == ["m/s/d/l: missing from the fresh run"]
