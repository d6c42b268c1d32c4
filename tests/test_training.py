"""Tests for vae_helpers.training: fit (step budgets), evaluate, History, pick_device."""

from __future__ import annotations

import sys

import pytest
import torch

from vae_helpers.losses import autoencoder_terms, beta_elbo_terms, squared_error
from vae_helpers.models import VAE, Autoencoder
from vae_helpers.training import History, evaluate, fit, pick_device


def make_data(n: int, seed: int) -> torch.Tensor:
    """n images (n, 784) in (0, 1) on a 2-D manifold, so a 2-D autoencoder can learn them."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 2, generator=g)
    w = torch.randn(2, 784, generator=torch.Generator().manual_seed(99)) * 2
    return torch.sigmoid(z @ w)


@pytest.fixture(scope="module")
def train_x() -> torch.Tensor:
    return make_data(256, seed=1)


@pytest.fixture(scope="module")
def test_x() -> torch.Tensor:
    return make_data(64, seed=2)


def small_ae(init_seed: int = 0) -> Autoencoder:
    torch.manual_seed(init_seed)
    return Autoencoder(hidden_dim=32, latent_dim=2)


def small_vae(init_seed: int = 0) -> VAE:
    torch.manual_seed(init_seed)
    return VAE(hidden_dim=32, latent_dim=2)


def se_loss(model, x):
    return squared_error(model(x), x)


def run(model, loss_fn, train_x, test_x, **kwargs) -> History:
    options = dict(steps=24, batch_size=32, lr=3e-3, seed=0, device="cpu", progress=False)
    options.update(kwargs)
    return fit(model, loss_fn, train_x, test_x, **options)


# --- the fast path computes what a plain training loop computes ---------------------------------------


def test_fit_takes_the_same_steps_as_a_plain_adam_loop(train_x):
    """fit's speed-ups (fused Adam, one shuffle per pass, no per-step syncs) change no numbers.

    20 steps of 48 images over 256: passes of 6 batches (5 full, one of 16), the budget
    ending in the middle of the fourth pass.
    """
    model, plain = small_ae(), small_ae()
    run(model, se_loss, train_x, None, steps=20, batch_size=48)
    optimizer = torch.optim.Adam(plain.parameters(), lr=3e-3, foreach=False)  # the textbook update
    shuffler = torch.Generator().manual_seed(0)  # fit shuffles with a generator seeded like this
    taken = 0
    while taken < 20:
        order = torch.randperm(len(train_x), generator=shuffler)
        for start in range(0, len(train_x), 48):
            if taken == 20:
                break
            xb = train_x[order[start:start + 48]]
            optimizer.zero_grad()
            se_loss(plain, xb).backward()
            optimizer.step()
            taken += 1
    for (name, p), q in zip(model.named_parameters(), plain.parameters()):
        assert torch.allclose(p, q, atol=1e-5), f"{name} differs from the plain loop's"


# --- learning and the History ---------------------------------------------------------------------


def test_fit_decreases_the_loss(train_x, test_x):
    model = small_ae()
    before_test = evaluate(model, se_loss, test_x)["loss"]
    history = run(model, se_loss, train_x, test_x)
    assert history.train[-1]["loss"] < 0.8 * history.train[0]["loss"]
    assert history.test[-1]["loss"] < history.test[0]["loss"]
    assert history.test[-1]["loss"] < 0.8 * before_test


def test_history_structure(train_x, test_x):
    history = run(small_ae(), autoencoder_terms, train_x, test_x, steps=16, record_every=5)
    assert isinstance(history, History)
    assert history.steps == [5, 10, 15, 16], "a record every 5 steps, and one at the end"
    assert len(history.train) == len(history.test) == len(history.seconds) == 4
    for record in history.train + history.test:
        assert set(record) == {"loss"}
        assert isinstance(record["loss"], float)
    assert all(s >= 0 for s in history.seconds)
    assert history.passes == pytest.approx(16 * 32 / 256)
    assert "16 steps, 2.0 passes" in repr(history)


def test_default_history_has_twenty_records(train_x):
    history = run(small_ae(), se_loss, train_x, None, steps=45)
    assert history.steps == [2 * k for k in range(1, 23)] + [45]
    assert run(small_ae(), se_loss, train_x, None, steps=3).steps == [1, 2, 3]


def test_the_budget_is_steps_whatever_the_data_size(train_x):
    """The cost of a run is its steps: four times the data, the same number of batches."""
    seen = []

    def counting_loss(model, x):
        seen.append(len(x))
        return se_loss(model, x)

    small = run(small_ae(), counting_loss, train_x[:64], None, steps=12)
    assert len(seen) == 12 and small.passes == pytest.approx(12 * 32 / 64)
    seen.clear()
    large = run(small_ae(), counting_loss, train_x, None, steps=12)
    assert len(seen) == 12 and large.passes == pytest.approx(12 * 32 / 256)


def test_history_without_test_data(train_x):
    history = run(small_ae(), se_loss, train_x, None, steps=16, record_every=8)
    assert len(history.train) == 2
    assert history.test == []


def test_test_figures_equal_evaluate(train_x, test_x):
    model = small_ae()
    history = run(model, se_loss, train_x, test_x, steps=16)
    again = evaluate(model, se_loss, test_x)
    assert history.test[-1]["loss"] == pytest.approx(again["loss"], rel=1e-6)
    # and evaluate itself is a per-image average, whatever the batch size
    with torch.no_grad():
        by_hand = ((model(test_x).double() - test_x.double()) ** 2).sum().item() / len(test_x)
    assert again["loss"] == pytest.approx(by_hand, rel=1e-5)
    assert evaluate(model, se_loss, test_x, batch_size=7)["loss"] == pytest.approx(by_hand, rel=1e-5)


def test_train_figures_are_per_image(train_x, test_x):
    # with a zero learning rate the model never changes, so the training figure of a block of
    # 6 steps of 50 (256 = 5 * 50 + 6: a block spans passes, with one short batch) is the per-image
    # loss of the fixed model
    model = small_ae()
    with torch.no_grad():
        expected_train = ((model(train_x).double() - train_x.double()) ** 2).sum().item() / len(train_x)
        expected_test = ((model(test_x).double() - test_x.double()) ** 2).sum().item() / len(test_x)
    history = run(model, se_loss, train_x, test_x, steps=12, lr=0.0, batch_size=50, record_every=6)
    for record in history.train:
        assert record["loss"] == pytest.approx(expected_train, rel=1e-5)
    for record in history.test:
        assert record["loss"] == pytest.approx(expected_test, rel=1e-5)


def test_evaluate_restores_training_mode(test_x):
    model = small_ae()
    model.train()
    evaluate(model, se_loss, test_x)
    assert model.training
    model.eval()
    evaluate(model, se_loss, test_x)
    assert not model.training


# --- reproducibility ------------------------------------------------------------------------------


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name


@pytest.mark.parametrize("make_model, loss_fn", [(small_ae, se_loss), (small_vae, beta_elbo_terms)],
                         ids=["autoencoder", "vae"])
def test_same_seed_same_history_and_weights(train_x, test_x, make_model, loss_fn):
    a, b = make_model(), make_model()
    torch.manual_seed(1234)  # global state before fit must not matter
    ha = run(a, loss_fn, train_x, test_x, steps=16, seed=7)
    torch.manual_seed(4321)
    hb = run(b, loss_fn, train_x, test_x, steps=16, seed=7)
    assert ha.train == hb.train
    assert ha.test == hb.test
    assert_same_weights(a, b)


def test_other_seed_other_history(train_x, test_x):
    a, b = small_ae(), small_ae()
    ha = run(a, se_loss, train_x, test_x, steps=16, seed=0)
    hb = run(b, se_loss, train_x, test_x, steps=16, seed=1)
    assert ha.train[0]["loss"] != hb.train[0]["loss"]
    assert any(not torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))


# --- loss terms -----------------------------------------------------------------------------------


def test_extra_terms_of_dict_losses_are_recorded(train_x, test_x):
    def loss_fn(model, x):
        loss = squared_error(model(x), x)
        return {"loss": loss, "half": loss / 2, "count": torch.tensor(float(len(x)))}

    history = run(small_ae(), loss_fn, train_x, test_x, steps=12, batch_size=48)  # 256 = 5 * 48 + 16
    for record in history.train + history.test:
        assert set(record) == {"loss", "half", "count"}
        assert record["count"] == pytest.approx(1.0)  # sums over all batches, divided by N
        assert record["half"] == pytest.approx(record["loss"] / 2, rel=1e-5)


def test_vae_terms_are_recorded(train_x, test_x):
    history = run(small_vae(), beta_elbo_terms, train_x, test_x, steps=16)
    for record in history.train + history.test:
        assert set(record) == {"loss", "recon", "kl"}
        assert record["loss"] == pytest.approx(record["recon"] + record["kl"], rel=1e-4)
        assert record["kl"] >= 0


def test_only_the_loss_entry_is_minimised(train_x):
    # "other" would be minimised by growing the weights without bound; it must only be recorded
    def loss_fn(model, x):
        return {"loss": squared_error(model(x), x), "other": -model.fc4.weight.abs().sum() * len(x)}

    model = small_ae()
    before = model.fc4.weight.detach().abs().sum().item()
    reference = small_ae()
    run(reference, se_loss, train_x, None, steps=16)
    run(model, loss_fn, train_x, None, steps=16)
    assert_same_weights(model, reference)
    assert model.fc4.weight.abs().sum().item() != before


def test_on_step_sees_every_step_in_order_before_its_update(train_x):
    """on_step(step) runs once per step, numbered 1..steps, before that step's update."""
    model = small_ae()
    seen: list[tuple[int, float]] = []
    run(model, se_loss, train_x, None, steps=7, batch_size=48,
        on_step=lambda step: seen.append((step, model.fc4.weight.detach().sum().item())))
    assert [step for step, _ in seen] == list(range(1, 8))
    weights = [w for _, w in seen]
    assert all(a != b for a, b in zip(weights, weights[1:])), "each call should see the previous step's update"
    reference = small_ae()
    assert weights[0] == pytest.approx(reference.fc4.weight.sum().item()), "step 1 runs before any update"


def test_a_kl_weight_set_by_on_step_reaches_the_loss(train_x):
    """A warm-up schedule written through on_step: the loss sees the weight of its own step."""
    used: list[float] = []
    weight = {"beta": 0.0}

    def loss_fn(model, x):
        used.append(weight["beta"])
        return beta_elbo_terms(model, x, beta=weight["beta"])

    def warm_up(step):
        weight["beta"] = min(1.0, step / 4)

    run(small_vae(), loss_fn, train_x, None, steps=6, on_step=warm_up)
    assert used == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


# --- argument checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [0, -1])
def test_rejects_non_positive_steps(train_x, steps):
    with pytest.raises(ValueError, match="steps"):
        run(small_ae(), se_loss, train_x, None, steps=steps)


@pytest.mark.parametrize("shape", [(16, 1, 28, 28), (784,)])
def test_rejects_non_2d_train_data(shape):
    with pytest.raises(ValueError, match=r"\(N, features\)"):
        run(small_ae(), se_loss, torch.rand(shape), None)


def test_rejects_dict_without_loss(train_x):
    with pytest.raises(KeyError, match="loss") as info:
        run(small_ae(), lambda m, x: {"recon": squared_error(m(x), x)}, train_x, None)
    assert "recon" in str(info.value)  # the message lists the keys it got


def test_rejects_non_scalar_loss(train_x):
    def per_image(model, x):
        return ((model(x) - x) ** 2).sum(dim=1)

    with pytest.raises(ValueError, match="scalar"):
        run(small_ae(), per_image, train_x, None)


# --- device and progress --------------------------------------------------------------------------


def no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_pick_device_falls_back_to_cpu(monkeypatch):
    no_accelerators(monkeypatch)
    assert pick_device() == torch.device("cpu")


def test_pick_device_prefers_cuda_then_mps(monkeypatch):
    no_accelerators(monkeypatch)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")


@pytest.mark.parametrize("arg", ["cpu", torch.device("cpu"), "meta", "cuda:1"])
def test_pick_device_honours_an_explicit_argument(monkeypatch, arg):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device(arg) == torch.device(arg)


def test_fit_moves_the_model_to_the_device(train_x):
    model = small_ae()
    run(model, se_loss, train_x, None, steps=8, device="cpu")
    assert all(p.device == torch.device("cpu") for p in model.parameters())
    assert not model.training  # fit leaves the model in eval mode


def test_progress_false_is_silent(train_x, test_x, capfd):
    run(small_ae(), se_loss, train_x, test_x, steps=8, progress=False)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_progress_true_shows_a_bar(train_x, capfd):
    run(small_ae(), se_loss, train_x, None, steps=8, progress=True, desc="my-run")
    assert "my-run" in capfd.readouterr().err


def test_without_ipywidgets_the_bar_is_quiet_text_on_stdout(train_x, monkeypatch, capsys):
    """A kernel without the lab extra: no "IProgress not found" warning, nothing on stderr (shown red)."""
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    run(small_ae(), se_loss, train_x, None, steps=8, progress=True, desc="quiet bar")
    printed = capsys.readouterr()
    assert printed.err == ""
    assert "quiet bar" in printed.out and "8/8" in printed.out
