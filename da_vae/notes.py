"""The notes under the da_vae report: how the run differs from the paper, with every number taken from the
config the eval ran with or from its results (none typed here)."""

from __future__ import annotations

from omegaconf import DictConfig

from da_vae import features


def _separation_line(result: dict) -> str:
    """How many Table 3 models are above the mixture (95% NSDR interval above 0), from the numbers."""
    cells = [(o, name, c["NSDR"]) for o, table in result["tables"].items() for name, c in table.items()]
    above = [f"{name} (`{o}`)" for o, name, nsdr in cells if nsdr[1] > 0]
    below = [f"{name} (`{o}`)" for o, name, nsdr in cells if nsdr[2] < 0]
    line = f"At {result['steps']} steps, {len(above)} of {len(cells)} Table 3 models are decidedly above the mixture"
    return line + (f"; below it: {', '.join(below)}." if below else ".")


def notes(cfg: DictConfig, results: dict) -> str:
    d, a, e = cfg.data, cfg.data.augment, cfg.eval
    sr, hop = d.sample_rate, features.hop_length(d.sample_rate, d.hop_ms)
    segment = ((d.segment_frames - 1) * hop + d.n_fft) / sr
    paragraphs = []
    if d.synthetic:
        paragraphs += [
            """Data: the MAPS and MIR-1K stand-ins of `common.corpora` (soundfont piano renderings of Bach chorales;
            MBROLA voices singing generated melodies over soundfont accompaniment), far smaller and cleaner than the
            real sets, and models trained for `trainer.max_steps` steps only. Numbers from such a run test the
            pipeline and the relative behaviour of the methods, not the paper's values.""",
            f"""Pianos: the MAPS stand-in's pianos are GM soundfonts and programs in synthetic rooms, not MAPS's
            Disklaviers and sampled pianos; the held-out {d.heldout_instrument} is a soundfont no training piano uses.
            Table 2 items are (piece, piano) pairs; in-domain, the {len(d.instruments)} pianos of a piece share its
            stretch, so they are not independent and the intervals there are narrower than piece-level ones would
            be."""]
    separation = """Separation: the VAE and the DAE read and decode log(1 + |STFT|) of the z-scored mixture (the
        voice scaled alike), with one per-bin loss (`task.voice_loss`: l2, squared error / 2, or l1, the paper's),
        summed over the segment in the VAE beside its KL and averaged in the DAE. The `magnitude` DAE decodes the
        voice like the VAE (the paper's equation 3); the `mask` DAE decodes logits of a soft mask on the mixture
        magnitude. The output layers of the VAE and the `magnitude` DAE start at the training mean of
        log(1 + |voice|) per bin. Either voice magnitude is averaged over overlapping segments, kept within [0,
        mixture magnitude] and given the mixture phase; the accompaniment is mixture minus voice. Scores are
        bss_eval v3 of the voice with both sources as references (`common.metrics.SourceScorer`, mir_eval's
        numbers); NSDR = SDR(voice estimate) - SDR(mixture). The paper weights its means by frames; ours are plain
        means over clips (of similar length), so that each has a bootstrap interval and each ordering a paired
        per-clip test. Every Table 3 model trains `eval.separation_steps` steps (0: `trainer.max_steps`)."""
    if "separation" in results:
        separation += " " + _separation_line(results["separation"])
    paragraphs += [
        f"""Augmentation (ours; the paper has none): the `+ augment` rows of Table 2 train stage 2 on piano audio
        given, per training segment, a random EQ (+-{a.eq_db:g} dB at {a.eq_bands} log-spaced frequencies), with
        probability {a.reverb_probability:g} a synthetic room (decaying noise, RT60
        {a.reverb_seconds[0]:g}-{a.reverb_seconds[1]:g} s, reverb energy
        {a.reverb_wet[0]:g}-{a.reverb_wet[1]:g} of the direct sound) and a random level (+-{a.gain_db:g} dB),
        before its log-mel (`data.augment`, `da_vae.augment`). The room is applied to
        the {segment:.2f} s segment alone, so no reverberation rings in from before it.""",
        f"""e is the GTW error (mean nearest-neighbour distance between estimated and true path, `common.align`) in
        frames of {d.hop_ms:g} ms. Non-linear stretches use random control rates in [{e.nonlinear_rate_range[0]:g},
        {e.nonlinear_rate_range[1]:g}], one per {e.nonlinear_control_seconds:g} s, joined smoothly
        (`common.align.nonlinear_time_stretch`); [17]'s exact settings are not given in the paper.""",
        f"""Features: log(1 + mel power) of the z-scored waveform ({d.n_fft}-point STFT, {1000 * d.n_fft / sr:g} ms
        Hann window, {d.hop_ms:g} ms hop at {sr / 1000:g} kHz); binary piano roll, fed to the VAE as is (0/1,
        Bernoulli stage-1 loss); Spec compares these two directly. Chroma: `librosa.feature.chroma_stft` vs
        pretty_midi `get_chroma` normalised per frame by its maximum. MCEP: c1..c24 of SPTK's mel-cepstral analysis
        (`pysptk.sp2mc`, all-pass constant {features.all_pass_constant(sr):.2f} for {sr / 1000:g} kHz) of the WORLD
        DIO/StoneMask/CheapTrick envelope. DTW: `common.dtw`, Euclidean cost in Task 1, squared Euclidean in Task 2
        (as the paper says); Task 2 latents are z-scored over time.""",
        separation,
        """Claims: each is decided on paired differences with a 95% bootstrap interval; 'detectable' is the smallest
        mean difference its test would find with 80% power at that level, given the spread of the differences
        (Student t). A claim that does not hold while its detectable effect is larger than the paper's gap says
        little either way."""]
    return "".join(f"- {' '.join(text.split())}\n" for text in paragraphs)
