"""Encoder families: every registered encoder on random init, checkpoint loading, key layouts, input validation.

Large encoders are built on the meta device (no memory, no hashing) so only their specs and shapes are checked.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from latentanon import create_encoder, list_encoders
from latentanon.contracts import RandomWeightsWarning, state_dict_sha256

# name: (D, T', input size) -- pinned so a silent change of any published shape is caught.
EXPECTED = {
    "videomae-s": (384, 8, 224),
    "videomae-b": (768, 8, 224),
    "videomae-l": (1024, 8, 224),
    "videomae-h": (1280, 8, 224),
    "videomae2-g": (1408, 8, 224),
    "videomae-tiny": (128, 8, 64),
    "vjepa2-l": (1024, 8, 256),
    "vjepa2-h": (1280, 8, 256),
    "vjepa2-g": (1408, 8, 256),
    "vjepa2-tiny": (128, 8, 64),
    "i3d-r50": (2048, 2, 224),
    "i3d-r50-tiny": (256, 2, 64),
    "i3d-inception": (1024, 2, 224),
    "i3d-inception-tiny": (128, 2, 64),
    "internvideo-h": (1280, 8, 224),
    "internvideo-tiny": (128, 8, 64),
}
TINY = sorted(n for n in EXPECTED if n.endswith("-tiny"))
LARGE = sorted(n for n in EXPECTED if not n.endswith("-tiny"))


def clip(name: str, batch: int = 2, device: str = "cpu") -> torch.Tensor:
    size = EXPECTED[name][2]
    if device == "meta":
        return torch.empty(batch, 16, 3, size, size, device="meta")
    return torch.randn(batch, 16, 3, size, size, generator=torch.Generator().manual_seed(0))


def build(name: str, checkpoint: str | None = None):
    if checkpoint is None:
        with pytest.warns(RandomWeightsWarning, match="RANDOM weights"):
            return create_encoder(name)
    return create_encoder(name, checkpoint=checkpoint)


def test_registry_lists_exactly_the_pinned_encoders():
    assert sorted(list_encoders()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", TINY)
def test_tiny_encoder_random_init(name):
    torch.manual_seed(0)
    enc = build(name)
    d, t_prime, size = EXPECTED[name]
    spec = enc.spec
    assert (spec.name, spec.feature_dim, spec.tokens_per_clip, spec.input_size) == (name, d, t_prime, size)
    assert spec.clip_length == 16 and spec.frame_stride == 1 and spec.resize_short >= spec.input_size
    assert spec.weights == "random" and spec.weights_sha256 == state_dict_sha256(enc)
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    enc.train()  # a wrapper's .train() must not unfreeze dropout / BatchNorm statistics
    assert not enc.training and not any(m.training for m in enc.modules())
    with torch.no_grad():
        tokens = enc(clip(name))
        feature = enc.pool(tokens)
    assert tokens.shape == (2, t_prime, d) and feature.shape == (2, d)
    assert torch.isfinite(tokens).all() and torch.isfinite(feature).all()


@pytest.mark.parametrize("name", LARGE)
def test_large_encoder_spec_and_shapes_on_meta(name):
    d, t_prime, size = EXPECTED[name]
    with torch.device("meta"), pytest.warns(RandomWeightsWarning):
        enc = create_encoder(name)
    spec = enc.spec
    assert (spec.feature_dim, spec.tokens_per_clip, spec.input_size, spec.clip_length) == (d, t_prime, size, 16)
    assert spec.weights == "random" and spec.weights_sha256 is None  # nothing to hash on meta
    tokens = enc(clip(name, device="meta"))
    assert tokens.shape == (2, t_prime, d) and enc.pool(tokens).shape == (2, d)


@pytest.mark.parametrize(
    ("name", "mean", "std"),
    [
        ("videomae-b", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ("vjepa2-l", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ("internvideo-tiny", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ("i3d-inception", (0.5,) * 3, (0.5,) * 3),  # pytorch-i3d: RGB in [-1, 1]
        ("i3d-r50", (0.45,) * 3, (0.225,) * 3),  # pytorch-resnet3d: 114.75 / 57.375 on [0, 255]
    ],
)
def test_input_normalisation_matches_each_checkpoint_recipe(name, mean, std):
    with torch.device("meta"), pytest.warns(RandomWeightsWarning):
        spec = create_encoder(name).spec
    assert (spec.mean, spec.std) == (mean, std)


# ---------------------------------------------------------------------------------------------- transformers


def test_videomae_save_pretrained_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = build("videomae-tiny")
    enc.model.save_pretrained(tmp_path)
    loaded = build("videomae-tiny", str(tmp_path))
    assert loaded.spec.weights == str(tmp_path.resolve())
    assert loaded.spec.weights_sha256 == enc.spec.weights_sha256 == state_dict_sha256(loaded)
    x = clip("videomae-tiny")
    with torch.no_grad():
        assert torch.equal(loaded(x), enc(x))


def test_videomae_pool_is_fc_norm_of_token_mean_and_classifier_is_dropped(tmp_path):
    from transformers import VideoMAEForVideoClassification

    from latentanon.encoders.videomae import hf_config

    torch.manual_seed(0)
    config = hf_config("videomae-tiny")
    config.num_labels = 5
    reference = VideoMAEForVideoClassification(config).eval()
    with torch.no_grad():
        reference.fc_norm.weight.uniform_(0.5, 1.5)  # not the identity init, so the test can tell
    reference.save_pretrained(tmp_path)
    enc = build("videomae-tiny", str(tmp_path))
    assert not any("classifier" in k for k in enc.state_dict())
    x = clip("videomae-tiny")
    with torch.no_grad():
        hidden = reference.videomae(pixel_values=x).last_hidden_state  # (B, L, D)
        official = reference.fc_norm(hidden.mean(dim=1))
        torch.testing.assert_close(enc.pool(enc(x)), official, rtol=1e-5, atol=1e-5)


def test_videomae_pretraining_checkpoint_pools_the_plain_mean(tmp_path):
    from transformers import VideoMAEForPreTraining

    from latentanon.encoders.videomae import hf_config

    torch.manual_seed(0)
    reference = VideoMAEForPreTraining(hf_config("videomae-tiny", use_mean_pooling=False)).eval()
    reference.save_pretrained(tmp_path)
    enc = build("videomae-tiny", str(tmp_path))
    assert enc.fc_norm is None
    x = clip("videomae-tiny")
    with torch.no_grad():
        official = reference.videomae(pixel_values=x).last_hidden_state.mean(dim=1)
        torch.testing.assert_close(enc.pool(enc(x)), official, rtol=1e-5, atol=1e-5)


def test_videomae_checkpoint_of_another_size_is_refused(tmp_path):
    enc = build("videomae-tiny")
    enc.model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="not a videomae-b checkpoint.*hidden_size=128"):
        create_encoder("videomae-b", checkpoint=str(tmp_path))


def test_vjepa2_roundtrip_and_pool_with_classification_checkpoint(tmp_path):
    from transformers import VJEPA2ForVideoClassification

    from latentanon.encoders.vjepa import hf_config

    torch.manual_seed(0)
    config = hf_config("vjepa2-tiny")
    config.num_labels = 3
    reference = VJEPA2ForVideoClassification(config).eval()
    reference.save_pretrained(tmp_path / "clf")
    enc = build("vjepa2-tiny", str(tmp_path / "clf"))
    assert enc.model.predictor is None and not any(k.startswith(("pooler", "classifier")) for k in enc.state_dict())
    x = clip("vjepa2-tiny")
    with torch.no_grad():
        hidden = reference.vjepa2(pixel_values_videos=x, skip_predictor=True).last_hidden_state  # (B, L, D)
        torch.testing.assert_close(enc.pool(enc(x)), hidden.mean(dim=1), rtol=1e-5, atol=1e-5)
        enc.model.save_pretrained(tmp_path / "enc")  # no predictor saved; loading back must still work
        again = build("vjepa2-tiny", str(tmp_path / "enc"))
        assert again.spec.weights == str((tmp_path / "enc").resolve())
        assert again.spec.weights_sha256 == enc.spec.weights_sha256 == state_dict_sha256(again)
        assert torch.equal(again(x), enc(x))


def test_transformers_encoders_refuse_missing_paths():
    with pytest.raises(FileNotFoundError):
        create_encoder("videomae-tiny", checkpoint="./no/such/dir")


# ---------------------------------------------------------------------------------------------- official layouts

# A handful of official key names per layout, with shapes: a drift in naming or widths is caught here.
PINNED_KEYS = {
    "i3d-inception": {
        "Conv3d_1a_7x7.conv3d.weight": (64, 3, 7, 7, 7),
        "Conv3d_1a_7x7.bn.running_var": (64,),
        "Conv3d_2c_3x3.conv3d.weight": (192, 64, 3, 3, 3),
        "Mixed_3b.b1b.conv3d.weight": (128, 96, 3, 3, 3),
        "Mixed_4f.b2b.bn.weight": (128,),
        "Mixed_5c.b3b.conv3d.weight": (128, 832, 1, 1, 1),
    },
    "i3d-r50": {
        "conv1.weight": (64, 3, 5, 7, 7),
        "bn1.running_mean": (64,),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1, 1),
        "layer2.1.conv1.weight": (128, 512, 1, 1, 1),
        "layer3.4.conv1.weight": (256, 1024, 3, 1, 1),
        "layer4.2.conv3.weight": (2048, 512, 1, 1, 1),
    },
    "internvideo-h": {
        "patch_embed.proj.weight": (1280, 3, 2, 16, 16),
        "blocks.0.attn.qkv.weight": (3840, 1280),
        "blocks.0.attn.q_bias": (1280,),
        "blocks.31.attn.v_bias": (1280,),
        "blocks.31.mlp.fc1.weight": (5120, 1280),
        "fc_norm.weight": (1280,),
    },
}
# Classifier of the official files (accepted, then dropped): key prefix and trailing weight dims.
HEADS = {"i3d-inception": ("logits.conv3d", (1, 1, 1)), "i3d-r50": ("fc", ())}
TRUNK_KEYS = {"i3d-inception": 285, "i3d-r50": 265}  # pytorch-i3d / pytorch-resnet3d, without num_batches_tracked


@pytest.mark.parametrize("name", sorted(PINNED_KEYS))
def test_official_key_layout_is_pinned(name):
    with torch.device("meta"), pytest.warns(RandomWeightsWarning):
        enc = create_encoder(name)
    net = getattr(enc, "net", enc)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    for key, shape in PINNED_KEYS[name].items():
        assert shapes.get(key) == shape, key
    if name in TRUNK_KEYS:
        assert len(shapes) == TRUNK_KEYS[name]
        # The official avg-pool (pytorch-i3d AvgPool3d([2, 7, 7])) covers the whole last map of a 16x224 clip,
        # so pool() = mean over T' of the spatial means is exactly the official feature.
        assert net(clip(name, device="meta").permute(0, 2, 1, 3, 4)).shape[2:] == (2, 7, 7)


def _official_file(enc, family: str, path, wrap: str) -> None:
    """Write the encoder's weights the way the official repositories do: with classifier and BN counters."""
    state = {k: v.clone() for k, v in enc.net.state_dict().items()}
    for key in [k for k in state if k.endswith("running_var")]:
        state[key.replace("running_var", "num_batches_tracked")] = torch.tensor(100)
    head, dims = HEADS[family]
    state[f"{head}.weight"] = torch.randn(400, enc.spec.feature_dim, *dims)
    state[f"{head}.bias"] = torch.randn(400)
    if wrap == "module":  # a DataParallel training checkpoint
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    elif wrap == "legacy":  # PyTorch 0.3-era files such as rgb_imagenet.pt
        torch.save(state, path, _use_new_zipfile_serialization=False)
    else:
        from safetensors.torch import save_file

        save_file(state, str(path))


@pytest.mark.parametrize("name", ["i3d-inception-tiny", "i3d-r50-tiny"])
@pytest.mark.parametrize("wrap", ["legacy", "module", "safetensors"])
def test_i3d_loads_official_layout_files(name, wrap, tmp_path):
    torch.manual_seed(0)
    source = build(name)
    with torch.no_grad():  # non-trivial BatchNorm statistics so that loading them matters
        for bn in (m for m in source.modules() if isinstance(m, torch.nn.BatchNorm3d)):
            for value in (bn.running_mean, bn.running_var, bn.weight, bn.bias):
                value.uniform_(0.5, 1.5)
    path = tmp_path / ("w.safetensors" if wrap == "safetensors" else "w.pth")
    _official_file(source, name.replace("-tiny", ""), path, wrap)
    enc = build(name, str(path))
    assert enc.spec.weights == str(path.resolve()) and enc.spec.weights_sha256 == state_dict_sha256(source)
    if wrap == "legacy":  # equal hashes already mean equal weights; check the outputs once
        x = clip(name)
        with torch.no_grad():
            torch.testing.assert_close(enc(x), source(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["i3d-inception-tiny", "i3d-r50-tiny", "internvideo-tiny"])
def test_missing_and_unexpected_keys_are_named(name, tmp_path):
    enc = build(name)
    state = dict(getattr(enc, "net", enc).state_dict())
    dropped = sorted(state)[3]
    del state[dropped]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="missing keys") as err:
        create_encoder(name, checkpoint=str(tmp_path / "bad.pth"))
    assert dropped in str(err.value) and "extra.weight" in str(err.value)


def test_checkpoint_with_pickled_objects_is_refused(tmp_path):
    torch.save({"model": {}, "cfg": object()}, tmp_path / "unsafe.pth")
    with pytest.raises(ValueError, match="weights_only"):
        create_encoder("i3d-r50-tiny", checkpoint=str(tmp_path / "unsafe.pth"))


def test_file_families_refuse_directories(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        create_encoder("i3d-inception-tiny", checkpoint=str(tmp_path))


def test_internvideo_finetuned_and_pretraining_layouts_match_transformers_videomae(tmp_path):
    """The own ViT equals transformers' VideoMAE fed the same official-layout file (tiny dims are identical)."""
    torch.manual_seed(0)
    source = build("internvideo-tiny")
    with torch.no_grad():
        for key, value in source.state_dict().items():
            if "norm" in key or "bias" in key:
                value.uniform_(-0.5, 1.5)
    finetuned = {**source.state_dict(), "head.weight": torch.randn(400, 128), "head.bias": torch.randn(400)}
    torch.save({"model": finetuned, "epoch": 9}, tmp_path / "ft.pth")
    pretraining = {f"encoder.{k}": v for k, v in source.state_dict().items() if not k.startswith("fc_norm")}
    pretraining.update({"encoder.norm.weight": torch.rand(128), "encoder.norm.bias": torch.rand(128)})
    pretraining.update({"decoder.norm.weight": torch.rand(64), "encoder_to_decoder.weight": torch.rand(64, 128)})
    pretraining["mask_token"] = torch.zeros(1, 1, 64)
    torch.save(pretraining, tmp_path / "pt.pth")
    x = clip("internvideo-tiny")
    for file, has_fc_norm in (("ft.pth", True), ("pt.pth", False)):
        ours = build("internvideo-tiny", str(tmp_path / file))
        theirs = build("videomae-tiny", str(tmp_path / file))
        assert (ours.fc_norm is not None) == (theirs.fc_norm is not None) == has_fc_norm
        with torch.no_grad():
            torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-4)
            # transformers' fc_norm uses eps 1e-5, the official one 1e-6
            torch.testing.assert_close(ours.pool(ours(x)), theirs.pool(theirs(x)), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(build("internvideo-tiny", str(tmp_path / "ft.pth"))(x), source(x), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", ["videomae-tiny", "i3d-r50-tiny"])
@pytest.mark.parametrize(
    ("shape", "dtype", "message"),
    [
        ((2, 8, 3, 64, 64), torch.float32, r"expects clips of shape \(B, 16, 3, 64, 64\)"),
        ((2, 16, 3, 32, 32), torch.float32, r"expects clips of shape"),
        ((2, 16, 1, 64, 64), torch.float32, r"expects clips of shape"),
        ((16, 3, 64, 64), torch.float32, r"\(B, T, C, H, W\)"),
        ((2, 16, 3, 64, 64), torch.uint8, r"float tensor normalised"),
    ],
)
def test_bad_input_raises_a_helpful_error(name, shape, dtype, message):
    enc = build(name)
    with pytest.raises(ValueError, match=message):
        enc(torch.zeros(shape, dtype=dtype))


def test_listing_encoders_does_not_import_transformers():
    code = "import sys, latentanon; latentanon.list_encoders(); print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
