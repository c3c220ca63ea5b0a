"""The task verbs end to end on tiny trained models: `align` recovers a known non-linear stretch better than
the Spec baseline and re-times the MIDI onto the audio; `separate` writes voice + accompaniment that sum to
the mixture; training resumes from `ckpt_path=last`; bad input is one line and exit code 2."""

import csv

import numpy as np
import pytest
import torch

from common.align import nonlinear_time_stretch, path_error
from common.audio import load_audio, resample, save_audio
from da_vae import catalog, data, features, inference

SR, HOP = 16000, 320


def read_path(path):
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return np.array([[int(r["midi_frame"]), int(r["audio_frame"])] for r in rows])


def onsets(midi):
    return np.array(sorted(n.start for inst in midi.instruments for n in inst.notes))


def one_note(path) -> None:
    import pretty_midi

    piece = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes.append(pretty_midi.Note(80, 60, 0.1, 0.5))
    piece.instruments.append(piano)
    piece.write(str(path))


def test_align_recovers_a_nonlinear_stretch_better_than_spec_and_retimes_the_midi(tiny, midi_checkpoint, tmp_path,
                                                                                   monkeypatch):
    piece = next(i for i in catalog.task_items(tiny.config(), "midi") if i.split == "val")  # unseen in training
    audio = load_audio(piece.audio, SR)
    stretched = nonlinear_time_stretch(audio, [0.75, 1.3, 0.8, 1.25, 0.9], hop_length=HOP)
    wav = save_audio(tmp_path / "recordings" / "performance.wav", stretched.output, SR)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")  # without --out-dir: the current directory, not the recording's folder
    assert tiny.run("align", "--audio", wav, "--midi", piece.midi, f"ckpt={midi_checkpoint}") == 0
    assert sorted(p.name for p in (tmp_path / "recordings").iterdir()) == ["performance.wav"]
    path = read_path(tmp_path / "out/performance.path.csv")
    midi = features.load_midi(piece.midi)
    n_midi = features.midi_frames(midi, HOP / SR)
    n_audio = features.frame_count(len(stretched.output), HOP)
    assert path[0].tolist() == [0, 0] and path[-1].tolist() == [n_midi - 1, n_audio - 1]
    truth = stretched.path[stretched.path[:, 0] < n_midi]
    ours = path_error(path, truth)
    roll = features.piano_roll(midi, n_midi, HOP / SR)
    mel = features.log_mel(features.zscore(stretched.output), SR, 1024, HOP, 128)
    spec = path_error(inference.dtw_path(roll, mel), truth)
    assert ours < 0.5 * spec, (ours, spec)

    # every note moves to where the stretch put it: onsets within 120 ms, half as far as before re-timing
    expected = np.interp(onsets(midi) / (HOP / SR), stretched.path[:, 0], stretched.path[:, 1]) * (HOP / SR)
    retimed = onsets(features.load_midi(tmp_path / "out/performance.aligned.mid"))
    assert len(retimed) == len(expected)
    after, before = np.median(np.abs(retimed - expected)), np.median(np.abs(onsets(midi) - expected))
    assert after < 0.12 and after < 0.5 * before, (after, before)


def test_separate_writes_voice_and_accompaniment_that_sum_to_the_mixture(tiny, separation_checkpoint, tmp_path,
                                                                         monkeypatch, capsys):
    clip = next(i for i in catalog.task_items(tiny.config(), "separation") if i.split == "train")
    voice, accompaniment = catalog.load_karaoke(clip.audio, SR)
    mixture = resample(voice + accompaniment, SR, 22050)  # a rate the model was not trained at
    wav = save_audio(tmp_path / "dataset" / "song.wav", mixture, 22050)
    (tmp_path / "sep").mkdir()
    monkeypatch.chdir(tmp_path / "sep")  # without --out-dir: the current directory, never the dataset's folder
    assert tiny.run("separate", wav, f"ckpt={separation_checkpoint}") == 0
    assert sorted(p.name for p in (tmp_path / "dataset").iterdir()) == ["song.wav"]
    assert "wrote song_voice.wav\nwrote song_accompaniment.wav" in capsys.readouterr().out
    outputs = {part: load_audio(tmp_path / f"sep/song_{part}.wav", 22050) for part in ("voice", "accompaniment")}
    assert all(len(x) == len(mixture) for x in outputs.values())
    np.testing.assert_allclose(outputs["voice"] + outputs["accompaniment"], mixture, atol=1e-5)
    # the separation is not trivial: the voice track holds more of the voice than of the accompaniment
    truth = {"voice": resample(voice, SR, 22050), "accompaniment": resample(accompaniment, SR, 22050)}
    est = outputs["voice"]
    share = {k: abs(np.dot(est, v)) / (np.linalg.norm(est) * np.linalg.norm(v)) for k, v in truth.items()}
    assert share["voice"] > share["accompaniment"], share


def test_separate_feeds_the_model_the_training_frames(tiny, separation_checkpoint, monkeypatch):
    """The DAE sees the mixture's |STFT| on the frame grid it was trained on: the segments separate_voice
    passes it are the cached training features of the clip, every hop_frames frames."""
    cfg = tiny.config("task.name=separation")
    prepared = data.PreparedTask(data.prepare(cfg, "separation"))
    item = prepared.split("val")[0]
    mixture_features = torch.from_numpy(prepared.clip(item)[1])
    module = inference.load_target(separation_checkpoint, "separation")
    seen, separate = [], module.separate
    monkeypatch.setattr(module, "separate", lambda x: seen.append(x) or separate(x))
    voice, accompaniment = catalog.load_karaoke(item["audio"], SR)
    inference.separate_voice(module, voice + accompaniment, hop_frames=5)
    n, T = len(mixture_features), module.hparams.frames
    starts = sorted(set(range(0, n - T + 1, 5)) | {n - T})
    expected = torch.stack([mixture_features[s : s + T] for s in starts])
    torch.testing.assert_close(torch.cat(seen), expected, rtol=1e-4, atol=1e-3)


def nsdr_of_held_out_clip(cfg, checkpoint):
    """NSDR of the voice separated from the first validation clip, dB."""
    from common.metrics import SourceScorer

    item = next(i for i in catalog.task_items(cfg, "separation") if i.split == "val")
    voice, accompaniment = catalog.load_karaoke(item.audio, SR)
    scorer = SourceScorer(np.stack([voice, accompaniment]))
    estimate = inference.separate_voice(inference.load_target(checkpoint, "separation"), voice + accompaniment)
    return scorer(estimate)["SDR"] - scorer(voice + accompaniment)["SDR"]


def test_separate_improves_on_the_mixture_of_a_held_out_clip(tiny):
    """A tiny soft-mask rDAE + wt (150 steps, the output that learns fastest) already brings the voice of an
    unseen clip closer than the mixture is; the paper's output needs longer (the slow test below)."""
    assert tiny.run("train", "task.name=separation", "task.dae_output=mask", "trainer.max_steps=150",
                    "run.name=nsdr") == 0
    checkpoint = tiny.root / "runs/da_vae/nsdr/separation-L32-rdae-mask-wt/checkpoints/last.ckpt"
    assert nsdr_of_held_out_clip(tiny.config(), checkpoint) > 0.3


@pytest.mark.slow
def test_the_papers_dae_improves_on_the_mixture_at_the_default_size(tmp_path):
    """The paper's formulation (Table 1 networks, 513 bins, the DAE decoding the voice like the VAE, "+wt" and
    alpha = 1) on the default synthetic MIR-1K, 1000 steps per stage: NSDR > 1 dB on a held-out clip."""
    from da_vae.config import DaVaeConfig
    from tests.project import TinyProject

    project = TinyProject("da_vae", DaVaeConfig, tmp_path, ["logger.wandb=false", "threads=1"])
    assert project.run("train", "task.name=separation", "trainer.max_steps=1000") == 0
    checkpoint = tmp_path / "runs/da_vae/default/separation-L128-rdae-wt/checkpoints/last.ckpt"
    assert nsdr_of_held_out_clip(project.config(), checkpoint) > 1.0


def test_every_stage_draws_its_validation_examples(separation_checkpoint):
    """Images of the first validation segments (logged to W&B and <run>/examples/ by ExampleLogger)."""
    from matplotlib.image import imread

    run = separation_checkpoint.parents[1]
    images = sorted(run.glob("examples/step-*/separation_mixture_estimate_voice.png"))
    assert images, list(run.glob("examples/*/*"))
    assert imread(images[-1]).shape[:2] == (3 * 513, 4 * 21)  # mixture, estimate, voice; 4 segments of 21 frames
    source = run.with_name(run.name.split("-rdae")[0] + "-source")
    assert imread(sorted(source.glob("examples/step-*/separation_input_over_reconstruction.png"))[-1]).shape[:2] == (
        2 * 513, 4 * 21)


def test_training_resumes_from_the_last_checkpoint(tiny, tmp_path):
    run = ["task.name=midi", "task.stage=source", "run.name=resume", "trainer.checkpoint_every_n_steps=10"]
    assert tiny.run("train", *run, "trainer.max_steps=20") == 0
    last = tiny.root / "runs/da_vae/resume/midi-L32-source/checkpoints/last.ckpt"
    first = torch.load(last, map_location="cpu", weights_only=False)
    assert first["global_step"] == 20
    assert tiny.run("train", *run, "trainer.max_steps=30", "ckpt_path=last") == 0
    resumed = torch.load(last, map_location="cpu", weights_only=False)
    assert resumed["global_step"] == 30
    assert resumed["optimizer_states"][0]["state"][0]["step"] == 30  # Adam's state continued, not restarted


@pytest.mark.parametrize("verb, make_args, message", [
    ("align", lambda t: ["--audio", t / "missing.wav", "--midi", t / "x.mid"], "missing.wav: no such sound file"),
    ("align", lambda t: ["--audio", t / "ok.wav", "--midi", t / "bad.mid"], "bad.mid: cannot read MIDI"),
    ("align", lambda t: ["--audio", t / "ok.wav", "--midi", t / "empty.mid"], "empty.mid: MIDI has no pitched"),
    ("align", lambda t: ["--audio", t / "one.wav", "--midi", t / "x.mid"], "one.wav: 0.000 s of audio is shorter"),
    ("align", lambda t: ["--audio", t, "--midi", t / "x.mid"], "is a folder, not a sound file"),
    ("align", lambda t: ["--audio", t / "ok.wav", "--midi", t], ": is a folder, not a MIDI file"),
    ("separate", lambda t: [t / "ok.wav", "ckpt=" + str(t / "nope.ckpt")], "nope.ckpt: no such checkpoint"),
    ("separate", lambda t: [t / "ok.wav", f"ckpt={t}"], ": is a folder, not a checkpoint file"),
    ("separate", lambda t: [t / "ok.wav", "eval.separation_hop_frames=0", f"ckpt={t / 'nope.ckpt'}"],
     "eval.separation_hop_frames=0: must be a finite number in [1, inf]"),
    ("separate", lambda t: [t / "ok.wav", f"ckpt={t / 'other.ckpt'}"], "other.ckpt: a gmvae_timbre checkpoint"),
    ("train", lambda t: ["task.name=karaoke"], "task.name='karaoke' is unknown"),
    ("train", lambda t: ["task.name=separation", "task.dae_output=wiener"], "task.dae_output='wiener' is unknown"),
])
def test_bad_input_is_one_line_naming_it(tiny, midi_checkpoint, tmp_path, capsys, verb, make_args, message):
    import pretty_midi

    save_audio(tmp_path / "ok.wav", 0.1 * np.random.default_rng(0).standard_normal(SR).astype(np.float32), SR)
    save_audio(tmp_path / "one.wav", np.full(1, 0.1, np.float32), SR)
    (tmp_path / "bad.mid").write_bytes(b"not a midi file")
    pretty_midi.PrettyMIDI().write(str(tmp_path / "empty.mid"))
    one_note(tmp_path / "x.mid")
    torch.save({"musicrep": {"package": "gmvae_timbre", "kind": "GMVAE"}}, tmp_path / "other.ckpt")
    args = make_args(tmp_path)
    if verb == "align":
        args.append(f"ckpt={midi_checkpoint}")
    assert tiny.run(verb, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err


def test_a_checkpoint_of_the_wrong_task_is_refused(tiny, midi_checkpoint, tmp_path, capsys):
    save_audio(tmp_path / "mix.wav", np.zeros(SR, np.float32) + 0.01, SR)
    assert tiny.run("separate", tmp_path / "mix.wav", f"ckpt={midi_checkpoint}") == 2
    assert f"{midi_checkpoint}: holds a midi target model, but this needs separation target" in capsys.readouterr().err


def test_frame_latents_encode_the_segment_centred_on_each_frame(midi_checkpoint):
    """Per-frame latents (computed in chunks with shared convolutions) equal the encoder on each centred,
    zero-padded, normalised segment."""
    module = inference.load_target(midi_checkpoint, "midi")
    raw = np.random.default_rng(0).random((70, module.hparams.bands[1]), dtype=np.float32)
    T = module.hparams.frames
    padded = torch.nn.functional.pad(torch.from_numpy(raw), (0, 0, T // 2, T - 1 - T // 2))
    segments = module.normalise(padded.unfold(0, T, 1).transpose(1, 2), "target")
    with torch.no_grad():
        expected = module.encoder(segments)[0].numpy()
    np.testing.assert_allclose(inference.frame_latents(module, raw, "target", batch=32), expected, rtol=1e-4,
                               atol=1e-5)


def test_align_refuses_to_overwrite_its_midi_before_any_work(tiny, tmp_path, capsys):
    """`<stem>.aligned.mid` in --out-dir would be the input MIDI itself: refused in one line before the model is
    even loaded (the checkpoint given does not exist), and the MIDI is untouched."""
    save_audio(tmp_path / "take.wav", 0.1 * np.random.default_rng(0).standard_normal(SR).astype(np.float32), SR)
    midi = tmp_path / "take.aligned.mid"
    one_note(midi)
    before = midi.read_bytes()
    assert tiny.run("align", "--audio", tmp_path / "take.wav", "--midi", midi, "--out-dir", tmp_path,
                    f"ckpt={tmp_path / 'nope.ckpt'}") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --out-dir {midi}: is the input file") and "\n" not in err, err
    assert midi.read_bytes() == before and not (tmp_path / "take.path.csv").exists()


def test_separate_checks_its_outputs_before_any_work(tiny, tmp_path, capsys):
    """An --out-dir that cannot be a folder (it is a file) is one line before the model is loaded."""
    save_audio(tmp_path / "mix.wav", 0.1 * np.random.default_rng(0).standard_normal(SR).astype(np.float32), SR)
    (tmp_path / "taken").write_text("a file, not a folder")
    assert tiny.run("separate", tmp_path / "mix.wav", "--out-dir", tmp_path / "taken",
                    f"ckpt={tmp_path / 'nope.ckpt'}") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --out-dir {tmp_path / 'taken' / 'mix_voice.wav'}: cannot create the folder"), err


def test_models_lists_the_default_models_and_which_are_missing(tiny, midi_checkpoint, capsys):
    assert tiny.run("models", "model.latent_dim=32") == (0 if (
        tiny.root / "runs/da_vae/default/separation-L32-rdae-wt/checkpoints/last.ckpt").is_file() else 1)
    out = capsys.readouterr().out
    assert f"{midi_checkpoint} (present)" in out and "used by: align" in out and "used by: separate" in out
    assert tiny.run("models", "run.name=nothing-here") == 1
    assert "missing: `python -m da_vae eval" in capsys.readouterr().out
