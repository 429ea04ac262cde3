"""Dataset adapters on hand-written fixtures in the official formats (tests/fixtures/datasets/<name>/).

For every adapter: the fixture parses to pinned records; a corrupted copy raises AnnotationError naming the file
and line; a missing required file raises FileNotFoundError naming it. The "videos" are empty placeholder files
(adapters only list paths); ShanghaiTech's frame masks are real .npy files.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from latentanon.datasets import AnnotationError, list_datasets, load_dataset

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
NAMES = [
    "casia_b",
    "hmdb51",
    "kinetics400",
    "ntu60",
    "shanghaitech",
    "thumos14",
    "toyota_smarthome",
    "ucf101",
    "ucf_crime",
    "vispr",
    "xd_violence",
]
FIXTURE_DIR = {name: name for name in NAMES}


def load(name: str, root: Path | None = None):
    """Load a fixture (Kinetics' documented missing-video warning silenced)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="kinetics400: .* not found")
        return load_dataset(name, str(root or FIXTURES / name))


def copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(FIXTURES / name, dst)
    return dst


def set_line(path: Path, line: int, text: str) -> None:
    """Replace 1-based ``line`` of ``path`` (keeping the file's line endings)."""
    lines = path.read_bytes().decode().splitlines(keepends=True)
    ending = lines[line - 1][len(lines[line - 1].rstrip("\r\n")) :] or "\n"
    lines[line - 1] = text + ending
    path.write_text("".join(lines), newline="")


def check_error(excinfo, path: Path, line: int | None) -> None:
    err = excinfo.value
    assert path.name in str(err)
    assert err.line == line
    if line is not None:
        assert f"{path.name}:{line}:" in str(err)


def table(ds, *fields: str) -> dict:
    """{key: (field values...)} over the records."""
    return {r.key: tuple(getattr(r, f) for f in fields) for r in ds.records}


# ----------------------------------------------------------------------------------------------- registry


def test_list_datasets_names_all_adapters():
    assert list_datasets() == NAMES


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KeyError, match="Did you mean ucf101"):
        load_dataset("ucf_101", str(FIXTURES / "ucf101"))
    with pytest.raises(KeyError, match="kinetics400"):
        load_dataset("kinetics", str(FIXTURES / "kinetics400"))


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_loads_with_absolute_paths_and_sorted_keys(name):
    ds = load(name)
    keys = [r.key for r in ds.records]
    assert keys == sorted(keys) and ds.name == name
    for r in ds.records:
        assert Path(r.path).is_absolute() and Path(r.path).is_file()
        assert "\\" not in r.key and Path(r.key).suffix not in (".avi", ".mp4", ".jpg")
        assert r.label is None or 0 <= r.label < len(ds.classes)


# ----------------------------------------------------------------------------------------------- ucf101


def test_ucf101_round_trip():
    ds = load("ucf101")
    assert ds.task == "action"
    assert ds.classes == ("ApplyEyeMakeup", "HandstandPushups", "WalkingWithDog")
    assert table(ds, "label", "split", "subject") == {
        "UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01": (0, "test", "g01"),
        "UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01": (0, "train", "g08"),
        "UCF-101/HandstandPushups/v_HandStandPushups_g01_c02": (1, "test", "g01"),
        "UCF-101/HandstandPushups/v_HandStandPushups_g08_c01": (1, "train", "g08"),
        "UCF-101/WalkingWithDog/v_WalkingWithDog_g01_c01": (2, "test", "g01"),
        "UCF-101/WalkingWithDog/v_WalkingWithDog_g09_c02": (2, "train", "g09"),
    }
    video = FIXTURES / "ucf101/UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"
    assert ds.records[0].path == os.path.abspath(video)


@pytest.mark.parametrize(
    "file, line, text",
    [
        ("trainlist01.txt", 2, "HandstandPushups/v_HandStandPushups_g08_c01.avi two"),  # non-integer
        ("trainlist01.txt", 3, "WalkingWithDog/v_WalkingWithDog_g09_c02.avi 1"),  # index disagrees with folder
        ("testlist01.txt", 2, "Juggling/v_Juggling_g01_c02.avi"),  # unknown class
        ("classInd.txt", 2, "2 HandstandPushups extra"),  # wrong number of fields
    ],
)
def test_ucf101_corrupt(tmp_path, file, line, text):
    root = copy("ucf101", tmp_path)
    path = root / "ucfTrainTestlist" / file
    set_line(path, line, text)
    with pytest.raises(AnnotationError) as excinfo:
        load("ucf101", root)
    check_error(excinfo, path, line)


def test_ucf101_missing_files(tmp_path):
    root = copy("ucf101", tmp_path)
    (root / "UCF-101/WalkingWithDog/v_WalkingWithDog_g01_c01.avi").unlink()
    with pytest.raises(FileNotFoundError, match="v_WalkingWithDog_g01_c01.avi"):
        load("ucf101", root)
    (root / "ucfTrainTestlist/classInd.txt").unlink()
    with pytest.raises(FileNotFoundError, match="classInd.txt"):
        load("ucf101", root)


# ----------------------------------------------------------------------------------------------- hmdb51


def test_hmdb51_round_trip():
    ds = load("hmdb51")
    assert ds.task == "action" and ds.classes == ("brush_hair", "clap")
    assert table(ds, "label", "split", "subject") == {  # split 1 only; code 0 skipped
        "videos/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0": (0, "train", None),
        "videos/brush_hair/Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0": (0, "test", None),
        "videos/clap/#20_Rhythm_clap_u_nm_np1_fr_goo_0": (1, "train", None),
        "videos/clap/Hand_Clapping_Game_clap_f_cm_np2_le_goo_1": (1, "test", None),
    }


@pytest.mark.parametrize(
    "line, text", [(2, "Hand_Clapping_Game_clap_f_cm_np2_le_goo_1.avi 3"), (1, "#20_Rhythm_clap_u_nm_np1_fr_goo_0.avi")]
)
def test_hmdb51_corrupt(tmp_path, line, text):
    root = copy("hmdb51", tmp_path)
    path = root / "testTrainMulti_7030_splits/clap_test_split1.txt"
    set_line(path, line, text)
    with pytest.raises(AnnotationError) as excinfo:
        load("hmdb51", root)
    check_error(excinfo, path, line)


def test_hmdb51_missing_files(tmp_path):
    root = copy("hmdb51", tmp_path)
    (root / "videos/clap/Hand_Clapping_Game_clap_f_cm_np2_le_goo_1.avi").unlink()
    with pytest.raises(FileNotFoundError, match="Hand_Clapping_Game_clap_f_cm_np2_le_goo_1.avi"):
        load("hmdb51", root)
    shutil.rmtree(root / "testTrainMulti_7030_splits")
    with pytest.raises(FileNotFoundError, match="testTrainMulti_7030_splits"):
        load("hmdb51", root)


# ----------------------------------------------------------------------------------------------- kinetics400


def test_kinetics400_round_trip_and_missing_video_warning():
    with pytest.warns(UserWarning, match=r"kinetics400: 1 of 5 annotated videos were not found"):
        ds = load_dataset("kinetics400", str(FIXTURES / "kinetics400"))
    assert ds.task == "action" and ds.classes == ("abseiling", "air drumming")
    assert table(ds, "label", "split") == {
        "test/--33Lscn6sk_000004_000014": (None, "test"),  # 2017-style test.csv without labels
        "train/abseiling/--07WQ2iBlw_000001_000011": (0, "train"),
        "train/air drumming/-0Z1d6J0lUs_000030_000040": (1, "train"),
        "val/-Qz25rXdMjE_000014_000024": (1, "val"),
    }


@pytest.mark.parametrize(
    "file, line, text",
    [
        ("train.csv", 3, "air drumming,-0Z1d6J0lUs,thirty,40,train"),  # non-integer
        ("train.csv", 2, "abseiling,--07WQ2iBlw,11,1,train"),  # end < start
        ("validate.csv", 2, "air drumming,-Qz25rXdMjE,14,24"),  # wrong number of fields
        ("validate.csv", 1, "label,id,time_start,time_end,split"),  # missing required column
    ],
)
def test_kinetics400_corrupt(tmp_path, file, line, text):
    root = copy("kinetics400", tmp_path)
    path = root / "annotations" / file
    set_line(path, line, text)
    with pytest.raises(AnnotationError) as excinfo:
        load("kinetics400", root)
    check_error(excinfo, path, line)


def test_kinetics400_missing_annotations(tmp_path):
    root = copy("kinetics400", tmp_path)
    shutil.rmtree(root / "annotations")
    with pytest.raises(FileNotFoundError, match="annotations/train.csv"):
        load("kinetics400", root)


# ----------------------------------------------------------------------------------------------- thumos14


def test_thumos14_round_trip():
    ds = load("thumos14")
    assert ds.task == "tad" and ds.classes == ("Billiards", "CliffDiving", "Diving")  # by label_id 2, 4, 7
    assert table(ds, "split", "segments", "fps") == {
        "videos/video_test_0000004": ("test", ((1, 0.2, 1.1), (2, 0.2, 1.1)), 25.0),  # Ambiguous skipped
        "videos/video_test_0000006": ("test", (), 30.0),
        "videos/video_validation_0000051": ("train", ((0, 2.1, 5.4), (0, 45.2, 47.9)), 30.0),
    }
    assert ds.records[2].meta == {"duration": 169.79}


def test_thumos14_corrupt_segment(tmp_path):
    root = copy("thumos14", tmp_path)
    path = root / "annotations/thumos14.json"
    set_line(path, 24, "            1.4,")  # second Billiards segment [1.4, 5.4] is fine ...
    set_line(path, 25, "            0.4")  # ... [1.4, 0.4] ends before it starts
    with pytest.raises(AnnotationError, match="end 0.4 < start 1.4") as excinfo:
        load("thumos14", root)
    check_error(excinfo, path, 21)  # the line that opens the annotation


def test_thumos14_corrupt_json_and_keys(tmp_path):
    root = copy("thumos14", tmp_path)
    path = root / "annotations/thumos14.json"
    original = path.read_text()
    set_line(path, 36, '      "subset": "Test"')  # missing comma
    with pytest.raises(AnnotationError, match="JSON syntax error") as excinfo:
        load("thumos14", root)
    check_error(excinfo, path, 37)  # the decoder reports the next line
    path.write_text(original.replace('"subset": "Test",\n      "duration": 12.0,', '"duration": 12.0,'))
    with pytest.raises(AnnotationError, match="missing required key 'subset'") as excinfo:
        load("thumos14", root)
    check_error(excinfo, path, 77)
    path.write_text(original.replace('"label_id": 7', '"label_id": 2'))
    with pytest.raises(AnnotationError, match="label_id 2 is used by two labels"):
        load("thumos14", root)


def test_thumos14_missing_files(tmp_path):
    root = copy("thumos14", tmp_path)
    (root / "videos/video_test_0000006.mp4").unlink()
    with pytest.raises(FileNotFoundError, match="video_test_0000006"):
        load("thumos14", root)
    (root / "annotations/thumos14.json").unlink()
    with pytest.raises(FileNotFoundError, match="thumos14.json"):
        load("thumos14", root)


# ----------------------------------------------------------------------------------------------- ucf_crime


def test_ucf_crime_round_trip():
    ds = load("ucf_crime")
    assert ds.task == "ad" and ds.classes == ("Normal", "Abuse", "Arrest", "Arson")
    assert table(ds, "label", "split", "anomaly_frames") == {  # 1-based inclusive -> 0-based inclusive
        "Abuse/Abuse001_x264": (1, "train", ()),
        "Abuse/Abuse028_x264": (1, "test", ((164, 239),)),
        "Arrest/Arrest002_x264": (2, "train", ()),
        "Arson/Arson011_x264": (3, "test", ((149, 419), (679, 1266))),
        "Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264": (0, "test", ()),
        "Training_Normal_Videos_Anomaly/Normal_Videos001_x264": (0, "train", ()),
    }


@pytest.mark.parametrize(
    "file, line, text",
    [
        ("Temporal_Anomaly_Annotation_for_Testing_Videos.txt", 2, "Arson011_x264.mp4  Arson  150  420  680"),
        ("Temporal_Anomaly_Annotation_for_Testing_Videos.txt", 2, "Arson011_x264.mp4  Arson  420  150  -1  -1"),
        ("Temporal_Anomaly_Annotation_for_Testing_Videos.txt", 1, "Abuse028_x264.mp4  Abuse  165  2x0  -1  -1"),
        ("Temporal_Anomaly_Annotation_for_Testing_Videos.txt", 1, "Abuse028_x264.mp4  Theft  165  240  -1  -1"),
        ("Temporal_Anomaly_Annotation_for_Testing_Videos.txt", 3, "Normal_Videos_003_x264.mp4  Normal  1  9  -1  -1"),
        ("Anomaly_Train.txt", 2, "Arrest/Arrest002_x264.mp4 extra"),
    ],
)
def test_ucf_crime_corrupt(tmp_path, file, line, text):
    root = copy("ucf_crime", tmp_path)
    path = root / file
    set_line(path, line, text)
    with pytest.raises(AnnotationError) as excinfo:
        load("ucf_crime", root)
    check_error(excinfo, path, line)


def test_ucf_crime_missing_files(tmp_path):
    root = copy("ucf_crime", tmp_path / "a")
    (root / "Arson/Arson011_x264.mp4").unlink()
    with pytest.raises(FileNotFoundError, match="Arson011_x264.mp4"):
        load("ucf_crime", root)
    root = copy("ucf_crime", tmp_path / "b")
    set_line(root / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt", 2, "Arson099_x264.mp4  Arson  1  2  -1  -1")
    with pytest.raises(AnnotationError, match="Arson011_x264.mp4' has no temporal annotation"):
        load("ucf_crime", root)
    (root / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt").unlink()
    with pytest.raises(FileNotFoundError, match="Temporal_Anomaly_Annotation_for_Testing_Videos.txt"):
        load("ucf_crime", root)


# ----------------------------------------------------------------------------------------------- xd_violence


def test_xd_violence_round_trip():
    ds = load("xd_violence")
    assert ds.task == "ad" and ds.classes == ("Normal", "Abnormal")
    assert table(ds, "label", "split", "anomaly_frames", "meta") == {  # end exclusive -> inclusive
        "test/Bullet.in.the.Head.1990__#00-01-39_00-02-44_label_B2-0-0": (
            1, "test", ((16, 303), (512, 599)), {"codes": ["B2"]}),
        "test/Gone.Girl.2014__#00-04-22_00-05-10_label_A": (0, "test", (), {"codes": ["A"]}),
        "test/Ip.Man.2008__#00-10-46_00-11-18_label_B1-0-0": (1, "test", ((0, 120),), {"codes": ["B1"]}),
        "train/A.Beautiful.Mind.2001__#00-25-20_00-29-20_label_A": (0, "train", (), {"codes": ["A"]}),
        "train/Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6": (1, "train", (), {"codes": ["G", "B2", "B6"]}),
    }  # fmt: skip


@pytest.mark.parametrize(
    "line, text",
    [
        (2, "Ip.Man.2008__#00-10-46_00-11-18_label_B1-0-0.mp4 0"),  # odd number of frame numbers
        (2, "Ip.Man.2008__#00-10-46_00-11-18_label_B1-0-0.mp4 121 0"),  # end < start
        (1, "Bullet.in.the.Head.1990__#00-01-39_00-02-44_label_B2-0-0 16 304 512 six"),
        (2, "Gone.Girl.2014__#00-04-22_00-05-10_label_A 3 9"),  # a normal video with events
    ],
)
def test_xd_violence_corrupt(tmp_path, line, text):
    root = copy("xd_violence", tmp_path)
    path = root / "annotations.txt"
    set_line(path, line, text)
    with pytest.raises(AnnotationError) as excinfo:
        load("xd_violence", root)
    check_error(excinfo, path, line)


def test_xd_violence_bad_code_and_missing_files(tmp_path):
    root = copy("xd_violence", tmp_path)
    bad = root / "train/Heat.1995__#00-01-00_00-02-00_label_B3-0-0.mp4"
    bad.write_bytes(b"")
    with pytest.raises(AnnotationError, match="unknown label code") as excinfo:
        load("xd_violence", root)
    check_error(excinfo, bad, None)
    bad.unlink()
    (root / "test/Ip.Man.2008__#00-10-46_00-11-18_label_B1-0-0.mp4").unlink()
    with pytest.raises(FileNotFoundError, match="Ip.Man.2008"):
        load("xd_violence", root)
    (root / "annotations.txt").unlink()
    with pytest.raises(FileNotFoundError, match="annotations.txt"):
        load("xd_violence", root)


# ----------------------------------------------------------------------------------------------- shanghaitech


SHANGHAITECH = {
    "videos/01_001": (0, "train", ()),
    "videos/01_0014": (1, "train", ()),
    "videos/01_0015": (1, "test", ((2, 4), (7, 7))),
    "videos/01_004": (0, "test", ()),
    "videos/04_003": (0, "train", ()),
    "videos/05_0017": (1, "test", ((0, 1),)),
}


def test_shanghaitech_round_trip():
    ds = load("shanghaitech")
    assert ds.task == "ad" and ds.classes == ("Normal", "Abnormal")
    assert table(ds, "label", "split", "anomaly_frames") == SHANGHAITECH


def test_shanghaitech_released_split_files(tmp_path):
    """The lists of Zhong et al. as released: SH_Train_new.txt '<name>,<label>', SH_Test_NEW.txt with frames."""
    root = copy("shanghaitech", tmp_path)
    for name in ("SH_Train.txt", "SH_Test.txt", "SH_Train_abnormal.txt"):
        (root / name).unlink()
    (root / "SH_Train_new.txt").write_text("01_001,0\n01_0014,1\n04_003,0\n")
    (root / "SH_Test_NEW.txt").write_text("01_0015,1,764\n01_004,0,769\n05_0017,1,769\n")
    (root / "test_frame_mask/01_004.npy").unlink()  # the original has masks only for its own test videos
    assert table(load("shanghaitech", root), "label", "split", "anomaly_frames") == SHANGHAITECH
    set_line(root / "SH_Test_NEW.txt", 3, "05_0017,0,769")  # disagrees with the mask
    with pytest.raises(AnnotationError) as excinfo:
        load("shanghaitech", root)
    check_error(excinfo, root / "SH_Test_NEW.txt", 3)


def test_shanghaitech_corrupt(tmp_path):
    root = copy("shanghaitech", tmp_path)
    set_line(root / "SH_Test.txt", 2, "01_004,2")
    with pytest.raises(AnnotationError) as excinfo:
        load("shanghaitech", root)
    check_error(excinfo, root / "SH_Test.txt", 2)
    set_line(root / "SH_Test.txt", 2, "01_004")
    np.save(root / "test_frame_mask/01_004.npy", np.array([0, 2, 0]))
    with pytest.raises(AnnotationError, match="0/1") as excinfo:
        load("shanghaitech", root)
    check_error(excinfo, root / "test_frame_mask/01_004.npy", None)


def test_shanghaitech_missing_files(tmp_path):
    root = copy("shanghaitech", tmp_path)
    (root / "test_frame_mask/05_0017.npy").unlink()
    with pytest.raises(FileNotFoundError, match="05_0017.npy"):
        load("shanghaitech", root)
    (root / "SH_Train_abnormal.txt").unlink()
    with pytest.raises(FileNotFoundError, match="SH_Train_abnormal.txt"):
        load("shanghaitech", root)
    (root / "SH_Test.txt").unlink()
    with pytest.raises(FileNotFoundError, match="SH_Test.txt"):
        load("shanghaitech", root)


# ----------------------------------------------------------------------------------------------- vispr


def test_vispr_round_trip():
    ds = load("vispr")
    assert ds.task == "privacy" and ds.classes == ()
    assert ds.attributes == (
        "a17_color",
        "a4_gender",
        "a9_face_complete",
        "a10_face_partial",
        "a12_semi_nudity",
        "a64_rel_personal",
        "a65_rel_social",
    )
    assert table(ds, "split", "labels", "label") == {
        "images/test2017/2017_30000001": ("test", (0, 1, 0, 0, 0, 1, 1), None),
        "images/train2017/2017_10000001": ("train", (1, 1, 1, 0, 0, 0, 0), None),  # a1_age_approx ignored
        "images/train2017/2017_10000002": ("train", (0, 0, 0, 0, 0, 0, 0), None),
        "images/val2017/2017_20000001": ("val", (0, 0, 0, 1, 1, 0, 0), None),
    }


def test_vispr_corrupt(tmp_path):
    root = copy("vispr", tmp_path)
    path = root / "annotations/train2017/2017_10000001.json"
    original = path.read_text()
    set_line(path, 3, '  "image_path": "images/train2017/2017_10000001.jpg"')  # missing comma
    with pytest.raises(AnnotationError, match="JSON syntax error") as excinfo:
        load("vispr", root)
    check_error(excinfo, path, 4)
    path.write_text(original.replace('"labels"', '"tags"'))
    with pytest.raises(AnnotationError, match="missing required key 'labels'") as excinfo:
        load("vispr", root)
    check_error(excinfo, path, 1)
    path.write_text(original.replace('"a1_age_approx"', "7"))
    with pytest.raises(AnnotationError, match="list of strings") as excinfo:
        load("vispr", root)
    check_error(excinfo, path, 4)


def test_vispr_missing_files(tmp_path):
    root = copy("vispr", tmp_path)
    (root / "images/val2017/2017_20000001.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="2017_20000001.jpg"):
        load("vispr", root)
    shutil.rmtree(root / "annotations")
    with pytest.raises(FileNotFoundError, match="annotations/train2017"):
        load("vispr", root)


# ----------------------------------------------------------------------------------------------- casia_b


def test_casia_b_round_trip():
    ds = load("casia_b")
    assert ds.task == "gait" and ds.classes == ("001", "002")
    assert table(ds, "label", "split", "subject", "meta") == {
        "videos/001-bg-02-180": (0, "other", "001", {"condition": "bg", "sequence": 2, "view": 180}),
        "videos/001-nm-01-090": (0, "gallery", "001", {"condition": "nm", "sequence": 1, "view": 90}),
        "videos/001-nm-05-000": (0, "probe", "001", {"condition": "nm", "sequence": 5, "view": 0}),
        "videos/002-cl-01-018": (1, "other", "002", {"condition": "cl", "sequence": 1, "view": 18}),
        "videos/002-nm-04-036": (1, "gallery", "002", {"condition": "nm", "sequence": 4, "view": 36}),
        "videos/002-nm-06-162": (1, "probe", "002", {"condition": "nm", "sequence": 6, "view": 162}),
    }


@pytest.mark.parametrize("name", ["001-nm-07-090.avi", "001-bg-01-100.avi", "001-xx-01-090.avi", "1-nm-01-090.avi"])
def test_casia_b_corrupt_name(tmp_path, name):
    """The file name is the annotation: a bad one is reported by name, without a line number."""
    root = copy("casia_b", tmp_path)
    (root / "videos" / name).write_bytes(b"")
    with pytest.raises(AnnotationError) as excinfo:
        load("casia_b", root)
    check_error(excinfo, root / "videos" / name, None)


def test_casia_b_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="videos"):
        load("casia_b", tmp_path)


# ----------------------------------------------------------------------------------------------- ntu60


def test_ntu60_round_trip():
    ds = load("ntu60")
    assert ds.task == "bias" and len(ds.classes) == 60
    assert ds.classes[0] == "drink water" and ds.classes[59] == "walking apart from each other"
    assert table(ds, "label", "split", "subject", "gender") == {  # cross-subject: P001, P038 train
        "nturgb+d_rgb/S001C001P001R001A001_rgb": (0, "train", "P001", "M"),
        "nturgb+d_rgb/S001C002P003R002A013_rgb": (12, "test", "P003", "F"),
        "nturgb+d_rgb/S002C001P007R001A043_rgb": (42, "test", "P007", "M"),
        "nturgb+d_rgb/S017C003P038R001A060_rgb": (59, "train", "P038", "F"),
    }
    assert ds.records[1].meta == {"setup": 1, "camera": 2, "replication": 2}


def test_ntu60_classes_txt_and_corrupt(tmp_path):
    root = copy("ntu60", tmp_path)
    (root / "classes.txt").write_text("".join(f"action {i}\n" for i in range(1, 61)))
    assert load("ntu60", root).classes[42] == "action 43"
    (root / "classes.txt").write_text("drink\neat\n")
    with pytest.raises(AnnotationError, match="unknown class A013") as excinfo:
        load("ntu60", root)
    check_error(excinfo, root / "nturgb+d_rgb/S001C002P003R002A013_rgb.avi", None)
    (root / "classes.txt").unlink()
    set_line(root / "subject_gender.csv", 3, "P003,X")
    with pytest.raises(AnnotationError, match="gender must be M or F") as excinfo:
        load("ntu60", root)
    check_error(excinfo, root / "subject_gender.csv", 3)


def test_ntu60_missing_files(tmp_path):
    root = copy("ntu60", tmp_path)
    set_line(root / "subject_gender.csv", 4, "P009,M")
    with pytest.warns(UserWarning, match="1 subject.* missing .*P007"):
        assert table(load("ntu60", root), "gender")["nturgb+d_rgb/S002C001P007R001A043_rgb"] == (None,)
    (root / "subject_gender.csv").unlink()
    with pytest.raises(FileNotFoundError, match="subject_gender.csv"):
        load("ntu60", root)


# ----------------------------------------------------------------------------------------------- toyota_smarthome


def test_toyota_smarthome_round_trip():
    ds = load("toyota_smarthome")
    assert ds.task == "bias"
    assert ds.classes == ("Cook.Cleandishes", "Drink.Fromcup", "Leave", "Usetelephone", "Walk")
    assert table(ds, "label", "split", "subject", "gender") == {  # cross-subject: p03, p04, p15 train
        "mp4/Cook.Cleandishes_p02_r00_v02_c03": (0, "test", "p02", "F"),
        "mp4/Drink.Fromcup_p15_r00_v01_c04": (1, "train", "p15", "F"),
        "mp4/Leave_p10_r02_v13_c07": (2, "test", "p10", "M"),
        "mp4/Usetelephone_p04_r00_v04_c04": (3, "train", "p04", "F"),
        "mp4/Walk_p03_r02_v12_c01": (4, "train", "p03", "M"),
    }
    assert ds.records[0].meta == {"repetition": 0, "video": 2, "camera": 3}


def test_toyota_smarthome_corrupt(tmp_path):
    root = copy("toyota_smarthome", tmp_path)
    set_line(root / "subject_gender.csv", 2, "p02")
    with pytest.raises(AnnotationError, match="expected 2 fields") as excinfo:
        load("toyota_smarthome", root)
    check_error(excinfo, root / "subject_gender.csv", 2)
    set_line(root / "subject_gender.csv", 1, "person,sex")
    with pytest.raises(AnnotationError, match="header") as excinfo:
        load("toyota_smarthome", root)
    check_error(excinfo, root / "subject_gender.csv", 1)


def test_toyota_smarthome_missing_files(tmp_path):
    root = copy("toyota_smarthome", tmp_path)
    (root / "subject_gender.csv").unlink()
    with pytest.raises(FileNotFoundError, match="subject_gender.csv"):
        load("toyota_smarthome", root)
    shutil.rmtree(root / "mp4")
    with pytest.raises(FileNotFoundError, match="mp4"):
        load("toyota_smarthome", root)


# ----------------------------------------------------------------------------------------------- synthetic sidecar


ATTRS = ["a17_color", "a4_gender", "a9_face_complete", "a10_face_partial", "a12_semi_nudity", "a64_rel_personal",
         "a65_rel_social"]  # fmt: skip


def write_sidecar(root: Path, videos: dict) -> Path:
    path = root / "synthetic_meta.json"
    path.write_text(json.dumps({"attributes": ATTRS, "classes": ["a", "b"], "videos": videos}, indent=2))
    return path


def test_synthetic_meta_fills_labels_subject_gender(tmp_path):
    root = copy("hmdb51", tmp_path)
    key = "videos/clap/#20_Rhythm_clap_u_nm_np1_fr_goo_0"
    write_sidecar(root, {key: {"labels": [1, 0, 1, 0, 0, 0, 1], "subject": "s07", "gender": "F", "action": 0}})
    ds = load("hmdb51", root)
    assert ds.attributes == tuple(ATTRS)
    r = {r.key: r for r in ds.records}[key]
    assert (r.labels, r.subject, r.gender, r.meta) == ((1, 0, 1, 0, 0, 0, 1), "s07", "F", {"synthetic": True})
    assert r.label == 1  # the official label wins over the sidecar's "action"
    other = {r.key: r for r in ds.records}["videos/clap/Hand_Clapping_Game_clap_f_cm_np2_le_goo_1"]
    assert (other.labels, other.subject, other.gender, other.meta) == ((), None, None, {})


def test_synthetic_meta_does_not_override_official_annotations(tmp_path):
    root = copy("ntu60", tmp_path)
    key = "nturgb+d_rgb/S001C001P001R001A001_rgb"
    write_sidecar(root, {key: {"labels": [0, 1, 0, 0, 0, 0, 0], "subject": "x", "gender": "F", "action": 5}})
    r = {r.key: r for r in load("ntu60", root).records}[key]
    assert (r.labels, r.subject, r.gender, r.label) == ((0, 1, 0, 0, 0, 0, 0), "P001", "M", 0)
    assert r.meta["synthetic"] is True and r.meta["setup"] == 1


def test_synthetic_meta_is_validated(tmp_path):
    root = copy("casia_b", tmp_path)
    path = write_sidecar(root, {"videos/001-nm-01-090": {"labels": [1, 0], "gender": "F"}})
    with pytest.raises(AnnotationError, match="2 labels for 7 attributes") as excinfo:
        load("casia_b", root)
    check_error(excinfo, path, 16)
    path.write_text('{"videos": {\n  "videos/001-nm-01-090": {"gender": "F",}\n}}')
    with pytest.raises(AnnotationError, match="JSON syntax error") as excinfo:
        load("casia_b", root)
    check_error(excinfo, path, 2)
