"""The model catalogue: seed 004's ConvNet, the CIFAR ResNets, timm backbones; the model contract
(features, classifier, freezing, input transform) and weights (published and from files), offline."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from helpers import TINY_SPEC
from imbalance_lab import run_one
from imbalance_lab.errors import SpecError
from imbalance_lab.models import MODELS
from imbalance_lab.models.base import ImageClassifier, InputNorm
from imbalance_lab.models.weights import WeightsError, build_model, load_backbone
from imbalance_lab.spec import ModelSpec, build_spec

CLI = [sys.executable, "-m", "imbalance_lab.cli"]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------- the CIFAR ResNets (He et al. 2016)


@pytest.mark.parametrize(
    "name,depth,millions", [("resnet20", 20, 0.27), ("resnet32", 32, 0.46), ("resnet56", 56, 0.85)]
)
def test_cifar_resnets_have_he_et_al_s_depth_and_size(name, depth, millions):
    model = MODELS.create(name, 3, (32, 32), 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) + len(linears) == depth  # 6n + 2 weighted layers, option-A shortcuts have none
    assert [c.out_channels for c in convs][:1] == [16] and {c.out_channels for c in convs} == {16, 32, 64}
    assert round(n_params(model) / 1e6, 2) == millions  # the sizes of He et al.'s Table 6
    features = model.forward_features(torch.rand(2, 3, 32, 32))
    assert features.shape == (2, 64) and model.get_classifier().in_features == 64
    strided = [c for c in convs if c.stride == (2, 2)]
    assert len(strided) == 2  # stages 2 and 3 halve the map: 32 → 16 → 8


def test_option_a_shortcut_subsamples_and_pads_with_zeros():
    model = MODELS.create("resnet20", 3, (32, 32), 10)
    block = model.backbone[3][0]  # the first block of the second stage: 16 → 32 channels, stride 2
    x = torch.randn(2, 16, 8, 8)
    out = block.shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2]) and not out[:, :8].any() and not out[:, 24:].any()


# --------------------------------------------------------------------- seed 004's ConvNet


class Seed004ConvNet(nn.Module):
    """Seed 004's ConvNet as the seed writes it (its final softmax left out: the logits)."""

    def __init__(self) -> None:
        super().__init__()
        chans = [(3, 8), (8, 8), (8, 32), (32, 32), (32, 128), (128, 128)]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in chans)
        self.bns = nn.ModuleList(nn.BatchNorm2d(b) for _, b in chans)
        self.conv7 = nn.Conv2d(128, 2, 1)
        self.pool7 = nn.AvgPool2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            x = F.relu(conv(x))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
            x = bn(x)
        return self.pool7(self.conv7(x)).view(-1, 2)


def test_convnet_bn_computes_seed_004_s_network():
    torch.manual_seed(0)
    ours = MODELS.create("convnet_bn", 3, (32, 32), 2)
    seed = Seed004ConvNet()
    convs = [m for m in ours.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in ours.backbone if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for mine, theirs in zip(convs, seed.convs, strict=True):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
        seed.conv7.weight.copy_(ours.classifier.weight.view(2, 128, 1, 1))
        seed.conv7.bias.copy_(ours.classifier.bias)
    assert len(bns) == 6 and all(b.bias is not None for b in bns)
    x = torch.rand(4, 3, 32, 32)
    for mode in (True, False):  # batch statistics, then the running ones
        ours.train(mode)
        seed.train(mode)
        assert torch.allclose(ours(x), seed(x * 2 - 1), atol=1e-5)  # the seed's [-1, 1] inputs
    assert all(torch.all(m.bias == 0.01) for m in convs)  # the seed's initialisation


def test_convnet_bn_seed_pooling_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="pool: global"):
        MODELS.create("convnet_bn", 3, (64, 64), 2, pool="seed")
    assert MODELS.create("convnet_bn", 3, (64, 64), 2)(torch.rand(1, 3, 64, 64)).shape == (1, 2)  # auto: global


# --------------------------------------------------------------------- the contract


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_keeps_the_contract(name, tmp_path):
    torch.manual_seed(0)
    model = MODELS.create(name, 1, (28, 28), 3)
    assert isinstance(model, ImageClassifier) and isinstance(model.backbone[0], InputNorm)
    x = torch.rand(2, 1, 28, 28)
    model.eval()
    features = model.forward_features(x)
    assert features.shape == (2, model.num_features)
    assert model.get_classifier().out_features == 3 and model.n_outputs == 3
    assert torch.equal(model.forward_head(features), model(x))
    before = model.get_classifier().weight.detach().clone()
    model.reset_classifier()
    assert not torch.equal(model.get_classifier().weight, before)
    model.reset_classifier(zero=True)
    assert not model(x).any()
    assert model.n_stages >= 3
    torch.save(model.state_dict(), tmp_path / "w.pt")
    again = MODELS.create(name, 1, (28, 28), 3)
    again.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    assert torch.equal(again.eval()(x), model(x))


@pytest.mark.parametrize("name", ["simple_cnn", "convnet_bn", "resnet20", "resnet18", "efficientnet_b0"])
def test_a_frozen_backbone_does_not_move_while_the_head_trains(name):
    torch.manual_seed(0)
    model = MODELS.create(name, 1, (28, 28), 2)
    model.freeze("backbone")
    model.train()
    assert not model.backbone.training and model.classifier.training
    trainable = {id(p) for p in model.trainable_parameters()}
    assert trainable == {id(p) for p in model.get_classifier().parameters()}
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.trainable_parameters(), lr=0.1)
    loss = F.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.randint(0, 2, (8,)))
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed == {"classifier.weight", "classifier.bias"}  # batch-norm statistics included: unmoved


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "convnet_bn"])
def test_freezing_the_first_stages_trains_the_rest(name):
    torch.manual_seed(0)
    model = MODELS.create(name, 3, (32, 32), 2)
    model.freeze(2)
    model.train()
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.trainable_parameters(), lr=0.1)
    F.cross_entropy(model(torch.rand(8, 3, 32, 32)), torch.randint(0, 2, (8,))).backward()
    optimizer.step()
    stage_tensors = [
        {id(t) for m in stage for t in [*m.parameters(recurse=False), *m.buffers(recurse=False)]}
        for stage in model._stages
    ]
    names = {id(t): k for k, t in model.state_dict(keep_vars=True).items()}
    after = model.state_dict()
    frozen = {names[i] for stage in stage_tensors[:2] for i in stage if i in names}
    assert frozen and all(torch.equal(after[k], before[k]) for k in frozen)
    later = {names[i] for stage in stage_tensors[2:] for i in stage if i in names}
    assert any(not torch.equal(after[k], before[k]) for k in later)
    assert model.frozen == 2
    model.freeze("none")
    assert len(model.trainable_parameters()) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="stages"):
        model.freeze(model.n_stages + 1)


def test_grey_images_are_copied_to_three_channels_and_resized_for_a_pretrained_net():
    norm = InputNorm((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), repeat=3, size=(64, 64))
    grey = torch.rand(2, 1, 28, 28)
    rgb = F.interpolate(grey, size=(64, 64), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)
    expected = (rgb - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(
        1, 3, 1, 1
    )
    assert torch.allclose(norm(grey), expected)
    assert torch.equal(InputNorm.signed(1)(grey), grey * 2 - 1)  # the seeds' scaling, bit for bit


def test_every_arm_of_a_seed_starts_from_the_same_weights(monkeypatch):
    import imbalance_lab.runner as experiment

    data = copy.deepcopy(TINY_SPEC)
    data["arms"] = [
        {"name": "plain", "train": data["arms"][0]["train"]},
        {"name": "weighted", "train": data["arms"][0]["train"], "strategy": {"class_weight": {"weights": "inverse"}}},
        {"name": "oversampled", "train": data["arms"][0]["train"], "strategy": "oversample"},
    ]
    data["training"] = {**data.get("training", {}), "epochs": 1}
    spec = build_spec(data)
    initial, real = {}, experiment.build_model

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        initial[len(initial)] = copy.deepcopy(model.state_dict())
        return model

    monkeypatch.setattr(experiment, "build_model", spy)
    for arm in ("plain", "weighted", "oversampled"):
        run_one(spec, arm, 0)
    run_one(spec, "plain", 1)
    same = [all(torch.equal(initial[0][k], initial[i][k]) for k in initial[0]) for i in (1, 2, 3)]
    assert same == [True, True, False]  # the arms of seed 0 alike; seed 1 differs


# --------------------------------------------------------------------- weights


def test_a_weights_file_loads_into_the_backbone_and_is_part_of_the_hash(tmp_path):
    torch.manual_seed(1)
    donor = MODELS.create("simple_cnn", 1, (28, 28), 8)  # e.g. trained on eight other classes
    torch.save(donor.state_dict(), tmp_path / "donor.pt")
    model = build_model(ModelSpec(pretrained=str(tmp_path / "donor.pt"), freeze="backbone"), 1, (28, 28), 2)
    assert all(torch.equal(v, donor.backbone.state_dict()[k]) for k, v in model.backbone.state_dict().items())
    assert model.get_classifier().out_features == 2 and model.frozen == "backbone"
    from safetensors.torch import save_file

    save_file(donor.backbone.state_dict(), str(tmp_path / "backbone.safetensors"))
    again = build_model(ModelSpec(pretrained=str(tmp_path / "backbone.safetensors")), 1, (28, 28), 2)
    assert all(torch.equal(v, model.backbone.state_dict()[k]) for k, v in again.backbone.state_dict().items())

    spec = copy.deepcopy(TINY_SPEC)
    spec["model"] = {"name": "simple_cnn", "pretrained": str(tmp_path / "donor.pt")}
    first = build_spec(spec)
    h1 = first.run_hash(first.arms[0], 0)
    torch.manual_seed(2)
    torch.save(MODELS.create("simple_cnn", 1, (28, 28), 8).state_dict(), tmp_path / "donor.pt")
    assert build_spec(spec).run_hash(first.arms[0], 0) != h1  # other weights, other runs
    assert build_spec(TINY_SPEC).run_hash(first.arms[0], 0) != h1


def test_weights_that_do_not_fit_are_one_line(tmp_path):
    torch.save(MODELS.create("simple_cnn", 1, (28, 28), 2, width=8).state_dict(), tmp_path / "narrow.pt")
    model = MODELS.create("simple_cnn", 1, (28, 28), 2)
    with pytest.raises(WeightsError, match=r"has shape \(8, 1, 3, 3\), the model's is \(32, 1, 3, 3\)"):
        load_backbone(model, tmp_path / "narrow.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read weights"):
        load_backbone(model, tmp_path / "junk.pt")
    spec = copy.deepcopy(TINY_SPEC)
    spec["model"] = {"name": "simple_cnn", "pretrained": str(tmp_path / "missing.pt")}
    with pytest.raises(SpecError, match="no weights file at"):
        build_spec(spec)
    spec["model"] = {"name": "simple_cnn", "pretrained": True}
    with pytest.raises(SpecError, match="simple_cnn has no published weights"):
        build_spec(spec)


def _offline_env(home: Path) -> dict[str, str]:
    return {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def test_published_weights_missing_offline_are_one_line_naming_the_cache(tmp_path):
    spec = copy.deepcopy(TINY_SPEC)
    spec["model"] = {"name": "resnet18", "pretrained": True, "freeze": "backbone", "params": {"input_size": 32}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = subprocess.run(
        [*CLI, "run", str(path), "--out", str(tmp_path / "out"), "--no-mlflow"],
        env=_offline_env(tmp_path / "hf"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "resnet18" in lines[0] and str(tmp_path / "hf" / "hub") in lines[0] and "model.pretrained" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing written


def test_published_weights_are_read_from_the_hub_cache_without_the_network(tmp_path):
    """The real loading path: timm's published weights in the Hugging Face cache layout load offline."""
    import timm

    cfg = timm.models.get_pretrained_cfg("resnet18").to_dict()
    repo = cfg["hf_hub_id"]
    snapshot = tmp_path / "hf" / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    torch.manual_seed(3)
    published = timm.create_model("resnet18", num_classes=1000).state_dict()
    from safetensors.torch import save_file

    save_file(published, str(snapshot / "model.safetensors"))
    code = (
        "import torch\n"
        "from imbalance_lab.models.weights import build_model\n"
        "from imbalance_lab.spec import ModelSpec\n"
        "m = build_model(ModelSpec(name='resnet18', pretrained=True, params={'input_size': 32}), 1, (28, 28), 2)\n"
        f"ref = torch.load({str(tmp_path / 'ref.pt')!r})\n"
        "own = m.backbone[1].state_dict()\n"
        "assert all(torch.equal(own[k], ref[k]) for k in own), 'weights differ'\n"
        "assert 'fc.weight' not in own and m.get_classifier().out_features == 2\n"
        "print(m.backbone[0].repeat, m.backbone[0].size)\n"
    )
    torch.save(published, tmp_path / "ref.pt")
    done = subprocess.run(
        [sys.executable, "-c", code], env=_offline_env(tmp_path / "hf"), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "(32,", "32)"]  # grey copied to RGB, resized to the given size


def test_a_run_with_a_frozen_backbone_trains_only_its_head(tmp_path, monkeypatch):
    import imbalance_lab.runner as experiment

    spec = copy.deepcopy(TINY_SPEC)
    spec["model"] = {"name": "resnet20", "freeze": "backbone"}
    spec["training"] = {**spec.get("training", {}), "epochs": 1}
    built, real = [], experiment.build_model

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        built.append((model, copy.deepcopy(model.backbone.state_dict())))
        return model

    monkeypatch.setattr(experiment, "build_model", spy)
    parsed = build_spec(spec)
    result = run_one(parsed, parsed.arms[0].name, 0)
    model, before = built[0]
    after = model.backbone.state_dict()
    assert all(torch.equal(after[k].cpu(), before[k].cpu()) for k in before)  # running statistics included
    assert result.history[0]["train"]["loss"] > 0


# --------------------------------------------------------------------- features once


def _frozen_spec(**execution):
    spec = copy.deepcopy(TINY_SPEC)
    spec["model"] = {"name": "resnet20", "freeze": "backbone"}
    spec["training"] = {**spec.get("training", {}), "epochs": 3}
    spec["execution"] = execution
    return build_spec(spec)


def test_features_once_agree_with_training_through_the_frozen_backbone(tmp_path, monkeypatch):
    import imbalance_lab.features as features
    import imbalance_lab.train as train

    monkeypatch.setenv("IMBALANCE_LAB_CACHE", str(tmp_path / "cache"))
    features._loaded.clear()  # what an earlier test of this process computed
    computed = []
    real = train.predict_features

    def counting(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(features, "predict_features", counting)
    through = run_one(_frozen_spec(feature_cache=False), "weighted", 0)
    assert computed == []  # not used when turned off
    once = run_one(_frozen_spec(), "weighted", 0)
    assert computed == [1] and len(list((tmp_path / "cache" / "features").glob("*.pt"))) == 1
    for name in ("val", "test"):
        assert torch.allclose(
            torch.from_numpy(once.predictions[name].probs), torch.from_numpy(through.predictions[name].probs), atol=1e-5
        )
    assert once.metrics["test"]["recall"] == pytest.approx(through.metrics["test"]["recall"])
    # every other arm of the seed reads the same features: from memory, then from disk (as a new process would)
    run_one(_frozen_spec(), "unbalanced", 0)
    features._loaded.clear()
    run_one(_frozen_spec(), "both", 0)
    assert computed == [1]
    run_one(_frozen_spec(), "both", 1)  # another seed's backbone (initialised, not pretrained): its own features
    assert computed == [1, 1]


def test_features_are_not_cached_where_they_would_change(tmp_path, monkeypatch):
    from imbalance_lab.strategies import build_pipeline
    from imbalance_lab.train import trains_on_features

    spec = _frozen_spec()
    model = build_model(spec.model, 1, (8, 8), 2)
    names = ("a", "b")
    assert trains_on_features(
        model, build_pipeline([("class_weight", {"weights": "inverse"})], names), spec.training, names
    )
    augment = build_pipeline([("augment", {"transforms": {"flip": {"p": 0.5}}})], names)
    assert not trains_on_features(model, augment, spec.training, names)  # augmented images: new features each epoch
    model.freeze(2)
    assert not trains_on_features(model, build_pipeline([], names), spec.training, names)  # part of it trains


def test_the_feature_key_follows_the_backbone_s_weights(tmp_path):
    from imbalance_lab.features import feature_key, used_indices
    from imbalance_lab.prepared import prepare_data
    from imbalance_lab.train import Compute

    spec = _frozen_spec()
    data = prepare_data(spec)
    compute = Compute.of(spec.training, spec.execution)
    index = used_indices(data)
    torch.manual_seed(0)
    a = build_model(spec.model, 1, (8, 8), 2)
    torch.manual_seed(0)
    b = build_model(spec.model, 1, (8, 8), 2)
    b.reset_classifier()  # the head is not part of the features
    assert feature_key(spec, data, a, compute, index) == feature_key(spec, data, b, compute, index)
    with torch.no_grad():
        b.backbone[1][0].weight.add_(1e-3)
    assert feature_key(spec, data, a, compute, index) != feature_key(spec, data, b, compute, index)
    assert index.size == sum(len(v) for v in data.plan.sets.values())


# --------------------------------------------------------------------- a backbone the tool trained, reused


def test_saved_weights_reproduce_the_run_and_serve_as_a_frozen_backbone(tmp_path):
    """Offline transfer as in examples/animal_mnist_pretrain.yaml → cats_vs_dogs_transfer.yaml, in small:
    a run keeps its final weights; they give its stored predictions again; another experiment on other
    classes loads them as its frozen backbone under a new head."""
    import numpy as np

    from imbalance_lab import api
    from imbalance_lab.train import predict_logits

    source = {"type": "synthetic", "n_per_class": 80, "n_classes": 5, "size": 8}
    pretrain = {
        "name": "pretrain",
        "data": {
            "source": source,
            "classes": {"c": 2, "d": 3, "e": 4},
            "splits": {"pool": {"balanced": 50}, "val": {"balanced": 10}, "test": {"balanced": 10}},
        },
        "arms": [{"name": "all", "train": {"balanced": 50}}],
        "model": {"name": "simple_cnn", "width": 4, "hidden": 8},  # no positive class: no dropout layers
        "training": {"epochs": 2, "batch_size": 32, "lr": 0.01},
        "seeds": [0],
        "tracking": {"mlflow": False},
        "execution": {"save_weights": True},
    }
    out = tmp_path / "pretrain"
    api.run(build_spec(pretrain), out, executor="local", threads=1)
    run = out / "runs" / "all" / "seed-0"
    weights = torch.load(run / "model.pt", weights_only=True)
    model = MODELS.create("simple_cnn", 1, (8, 8), 3, width=4, hidden=8, dropout=0.0, head_dropout=0.0, init="torch")
    model.load_state_dict(weights)
    spec = build_spec(pretrain)
    from imbalance_lab.prepared import prepare_data

    test = prepare_data(spec).eval_set("test")
    probs = torch.softmax(predict_logits(model, test.images, 1024), dim=1).numpy()
    with np.load(run / "predictions.npz") as stored:
        assert np.allclose(probs, stored["test_probs"], atol=1e-6)
    assert not (out / "runs" / "all" / ".tmp-seed-0").exists()

    transfer = copy.deepcopy(TINY_SPEC)  # classes a and b, with a positive class: dropout layers present
    transfer["model"] = {
        "name": "simple_cnn",
        "width": 4,
        "hidden": 8,
        "pretrained": str(run / "model.pt"),
        "freeze": "backbone",
    }
    parsed = build_spec(transfer)
    result = run_one(parsed, "unbalanced", 0)
    assert result.timing["images_trained"] == 66 * 2
    loaded = build_model(parsed.model, 1, (8, 8), 2)
    assert any(isinstance(m, torch.nn.Dropout) for m in loaded.backbone.modules())  # the donor had none
    own = {k: v for k, v in weights.items() if k.startswith("backbone.")}
    assert {f"backbone.{k}": v for k, v in loaded.backbone.state_dict().items()}.keys() == own.keys()
    assert all(torch.equal(loaded.backbone.state_dict()[k.removeprefix("backbone.")], v) for k, v in own.items())
