"""The CLI on a tiny trained checkpoint: translate/encode/blend/domains/add-domain, chunked generation, errors."""

import numpy as np
import pytest
import torch

from common.audio import audio_info, load_audio, save_audio
from music_translation import inference


def tone(path, seconds, rate=16000, level=0.5):
    t = np.arange(int(seconds * rate)) / rate
    save_audio(path, (level * np.sin(2 * np.pi * 330 * t)).astype(np.float32), rate)
    return path


def test_training_changed_every_decoder_and_logged_losses(trained):
    module = inference.load_module(trained.checkpoint)
    torch.manual_seed(0)  # train() seeds run.seed before building the module: the same initial weights
    fresh = type(module)(**module.hparams)
    for i in range(3):
        before, after = fresh.net.decoders[i].head[3].weight, module.net.decoders[i].head[3].weight
        assert not torch.allclose(before, after), f"decoder {i} did not train"
    assert int(module.batches_done) == 40
    examples = trained.root / "runs/music_translation/default/examples/step-40"
    for name in ("piano", "harpsichord", "strings"):  # validation examples: input and reconstruction
        assert audio_info(examples / name / "reconstruction.wav").frames == 400
        assert (examples / f"{name}_input_spectrogram.png").is_file()


def test_chunked_generation_equals_one_piece(trained):
    module = inference.load_module(trained.checkpoint)
    latent = inference.encode(module, torch.randint(0, 256, (2, 1000)))
    whole = inference.generate(module, latent, 1, chunk_frames=latent.shape[-1], seed=3)
    chunked = inference.generate(module, latent, 1, chunk_frames=3, seed=3)
    assert whole.shape == (2, 1000) and torch.equal(whole, chunked)
    assert not torch.equal(whole, inference.generate(module, latent, 1, chunk_frames=3, seed=4))


def test_translate_writes_audio_of_the_input_length(trained, tmp_path, capsys):
    src = tone(tmp_path / "in.wav", 0.537, rate=22050)  # any rate, not a whole number of frames
    for pieces in (1, 3):
        out = tmp_path / f"out{pieces}.wav"
        assert trained.run("translate", src, "--to", "piano", "--out", out, f"translate.pieces={pieces}",
                           "translate.chunk_seconds=0.1", f"ckpt={trained.checkpoint}") == 0
        info = audio_info(out)
        assert info.sample_rate == 4000 and info.frames == len(load_audio(src, 4000))
        assert np.abs(load_audio(out, 4000)).max() > 0
        assert "at 4000 Hz, the model's rate (the input is at 22050 Hz)" in capsys.readouterr().out


def test_encode_blend_and_domains(trained, tmp_path, capsys):
    a, b = tone(tmp_path / "a.wav", 0.6), tone(tmp_path / "b.wav", 0.6, level=0.3)
    ckpt = f"ckpt={trained.checkpoint}"
    assert trained.run("encode", a, b, "--out-dir", tmp_path / "z", ckpt) == 0
    z = np.load(tmp_path / "z/a.npy")
    assert z.shape == (24, 4) and np.isfinite(z).all()
    assert trained.run("blend", a, b, "--to", "strings", "--out", tmp_path / "blend.wav",
                       "translate.blend_seconds=0.5", ckpt) == 0
    assert audio_info(tmp_path / "blend.wav").frames == (24 + 24 - 20) * 100
    capsys.readouterr()
    assert trained.run("domains", ckpt) == 0
    assert [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()] == ["piano", "harpsichord",
                                                                                      "strings"]


def test_bad_inputs_get_one_line(trained, tmp_path, capsys):
    src = tone(tmp_path / "in.wav", 0.5)
    silent = tmp_path / "silent.wav"
    save_audio(silent, np.zeros(8000, np.float32), 16000)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "hyper_parameters": {"lr": 1}}, foreign)
    ckpt = f"ckpt={trained.checkpoint}"
    cases = [(["translate", src, "--to", "tuba", "--out", tmp_path / "o.wav", ckpt], "unknown domain 'tuba'"),
             (["translate", silent, "--to", "piano", "--out", tmp_path / "o.wav", ckpt], "silent"),
             (["translate", src, "--to", "piano", "--out", tmp_path / "o.wav", f"ckpt={foreign}"],
              "not a checkpoint written by this project"),
             (["translate", src, "--to", "piano", "--out", tmp_path / "o.wav", f"ckpt={src}"],
              "cannot be read as a checkpoint"),
             (["domains", f"ckpt={tmp_path / 'missing.ckpt'}"], "missing.ckpt: no such checkpoint"),
             (["eval", "model.pool=50", "trainer.max_steps=40"], "was trained with model.pool=100, this config has 50")]
    for args, message in cases:
        capsys.readouterr()
        assert trained.run(*args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


FILE_CASES = {  # issue 28's items: (args with {src}, {short}, {tmp}, {missing}, {ckpt} filled in, message)
    "out-is-the-input": (["translate", "{src}", "--to", "piano", "--out", "{src}", "{missing}"],
                         "in.wav: is the input file"),
    "blend-out-is-an-input": (["blend", "{src}", "{short}", "--out", "{short}", "{missing}"],
                              "short.wav: is the input file"),
    "unknown-extension-first": (["translate", "{src}", "--to", "piano", "--out", "{tmp}/o.mp3x", "{missing}"],
                                "unknown extension '.mp3x'"),
    "read-only-folder": (["translate", "{src}", "--to", "piano", "--out", "/sys/fs/musicrep-out/o.wav", "{missing}"],
                         "cannot create the folder"),
    "read-only-out-dir": (["encode", "{src}", "--out-dir", "/sys/fs/musicrep-out", "{missing}"],
                          "cannot create the folder"),
    "input-is-a-folder": (["translate", "{tmp}", "--to", "piano", "--out", "{tmp}/o.wav", "{missing}"], "is a folder"),
    "ckpt-is-a-folder": (["domains", "ckpt={tmp}"], "is a folder, not a checkpoint file"),
    "domain-folder-is-a-file": (["add-domain", "{src}", "{ckpt}"], "in.wav: is a file, not a folder"),
    "blend-names-the-short-input": (["blend", "{src}", "{short}", "--out", "{tmp}/b.wav", "translate.blend_seconds=0.4",
                                     "{ckpt}"], "short.wav: too short for the blend (0.30 s, the fade 0.40 s)"),
}


@pytest.mark.parametrize("case", FILE_CASES)
def test_verbs_check_files_before_any_work(trained, tmp_path, capsys, case):
    """Outputs are checked before the model is even loaded (``{missing}``, a checkpoint that is not there, would
    be the error otherwise): the input is never overwritten, the extension is known, the folder writable; folders
    and short inputs are named. One line, exit 2, the inputs untouched."""
    src, short = tone(tmp_path / "in.wav", 0.5), tone(tmp_path / "short.wav", 0.3)
    args, message = FILE_CASES[case]
    fill = dict(src=src, short=short, tmp=tmp_path, missing=f"ckpt={tmp_path / 'missing.ckpt'}",
                ckpt=f"ckpt={trained.checkpoint}")
    capsys.readouterr()
    assert trained.run(*(a.format(**fill) for a in args)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert audio_info(src).frames == 8000 and audio_info(short).frames == 4800


def test_models_names_the_default_checkpoint(trained, capsys):
    capsys.readouterr()
    assert trained.run("models") == 0
    out = capsys.readouterr().out
    assert str(trained.checkpoint) in out and "(present)" in out and "translate" in out
    assert trained.run("models", "run.name=nothing-here") == 1
    assert "missing" in capsys.readouterr().out


def test_add_domain_trains_a_new_decoder_on_the_frozen_encoder(trained, tmp_path):
    folder = trained.root / "tones" / "organ"  # built by the tone corpus but not a training domain
    assert trained.run("add-domain", folder, f"ckpt={trained.checkpoint}", "trainer.max_steps=6") == 0
    new = inference.load_module(trained.root / "runs/music_translation/default+organ/checkpoints/last.ckpt")
    old = inference.load_module(trained.checkpoint)
    assert new.net.domains == ["piano", "harpsichord", "strings", "organ"]
    for a, b in zip(old.net.encoder.parameters(), new.net.encoder.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(old.net.decoders[0].parameters(), new.net.decoders[0].parameters()):
        assert torch.equal(a, b)
    torch.manual_seed(1)
    assert inference.translate(new, torch.randint(0, 256, (450,)), 3).shape == (450,)


def test_blend_fades_from_the_first_latent_to_the_second():
    a, b = torch.zeros(1, 2, 6), torch.ones(1, 2, 5)
    out = inference.blend_latents(a, b, 3)
    assert out.shape == (1, 2, 8)
    np.testing.assert_allclose(out[0, 0].numpy(), [0, 0, 0, 0, 0.5, 1, 1, 1])
