"""The LightningModule: the paper's two optimisation steps per one-domain batch, by manual optimisation.

Step 1 trains the confusion net C on the detached latent: ``CE(C(E(O(s))), j)``. Step 2 trains the encoder
and decoder j, given the updated C: ``CE(D^j(E(O(s))), s) - lambda * CE(C(E(O(s))), j)``. O is the local
pitch modulation (encoder input only; the decoder is teacher-forced on the clean signal). Gradients are
clipped by value; Adam's rate decays by ``lr_decay`` every ``decay_every_steps`` optimisation steps (batches
per rank, the same count on any world size: :func:`lr_at`).

DDP: each rank trains the domain of its own batch, so at one step different ranks update different
decoders. Gradients are averaged here rather than by DDP's reducer: the encoder's and C's over all ranks,
each decoder's over the ranks that trained it; decoders nobody trained this step get no gradient (Adam
leaves them alone). ``trainer.global_step`` counts batches (C's optimizer steps are not counted).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from common.mulaw import mu_law_decode
from music_translation.augment import augment_codes, draw_spans, step_generator
from music_translation.generation import encode, generate
from music_translation.models import TranslationNet

FIRST_STEPS = 4  # steps whose draws every rank records for the DDP check


def lr_at(optim: dict, step: int) -> float:
    """Adam's rate at training step ``step`` (batches done by each rank): ``lr * lr_decay ** (step //
    decay_every_steps)``. The paper's "0.98 every 10,000 samples" read as 10,000 steps (the reference code also
    decays per iteration, 0.995 per 1,000): counting segments over all ranks would make the rate depend on the
    world size and vanish at scale."""
    return optim["lr"] * optim["lr_decay"] ** (step // optim["decay_every_steps"])


class TranslationModule(pl.LightningModule):
    """``model``/``optim``/``augment``: the config sections as dicts; ``domains``: decoder names in order;
    ``confusion_domains``: outputs of C (the training domains; later ``add-domain`` decoders add none);
    ``trainable``: indices of the decoders this run trains (None: all, with the encoder and C);
    ``example_seconds``: length of the validation audio examples (0: none); ``seed``: the run's seed, which
    with the rank and step picks each step's augmentation."""

    checkpoint_kind = "translation"  # the stamp common.lightning.checkpoint writes and load_checkpoint checks

    def __init__(self, *, model: dict, domains: list[str], sample_rate: int, optim: dict, augment: dict,
                 confusion_domains: int | None = None, trainable: list[int] | None = None,
                 example_seconds: float = 0.0, seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.net = TranslationNet(model, domains[:confusion_domains or len(domains)])
        for name in domains[len(self.net.domains):]:
            self.net.add_domain(name)
        self.register_buffer("batches_done", torch.zeros((), dtype=torch.long))
        self._example_inputs: dict[int, torch.Tensor] = {}
        self._first_steps: list[torch.Tensor] = []  # per step (B, 4): crop checksum and augmentation span
        self.full = trainable is None
        if not self.full:  # add-domain: frozen encoder, only the listed decoders learn
            for p in [*self.net.encoder.parameters(), *self.net.confusion.parameters()]:
                p.requires_grad_(False)

    def checkpoint_facts(self) -> dict:
        """What the checkpoint stamp records besides the package and kind."""
        return {"domains": list(self.net.domains), "sample_rate": self.hparams.sample_rate}

    # -- optimisation -------------------------------------------------------------------------------------
    def configure_optimizers(self):
        lr = self.hparams.optim["lr"]
        trained = range(len(self.net.decoders)) if self.full else self.hparams.trainable
        autoencoder = [p for i in trained for p in self.net.decoders[i].parameters()]
        if self.full:
            autoencoder = [*self.net.encoder.parameters(), *autoencoder]
        return [torch.optim.Adam(self.net.confusion.parameters(), lr=lr), torch.optim.Adam(autoencoder, lr=lr)]

    def _disarm_ddp_reducer(self) -> None:
        """Gradients are averaged in ``_average_gradients``; DDP's own reducer must stay out of the way."""
        wrapper = self.trainer.strategy.model
        if isinstance(wrapper, DistributedDataParallel):
            wrapper.require_backward_grad_sync = False

    def on_train_end(self) -> None:
        """Record every rank's parameter checksums in ``<run>/rank_checksums.json`` (DDP ranks must agree), and
        what each rank drew in its first steps (``first_steps``: rank x step x item x (sum of the crop's codes,
        span start, span length, semitones); ranks must differ)."""
        sums = torch.stack([p.detach().double().sum() for p in self.net.parameters()])
        world = self.trainer.world_size
        gathered = self.all_gather(sums).reshape(world, -1)
        first = self.all_gather(torch.stack(self._first_steps)) if self._first_steps else torch.zeros(0)
        if self.trainer.is_global_zero:
            path = Path(self.trainer.default_root_dir) / "rank_checksums.json"
            path.write_text(json.dumps({"world_size": world, "checksums": gathered.cpu().tolist(),
                                        "first_steps": first.reshape(world, *first.shape[-3:]).cpu().tolist()
                                        if first.numel() else []}))
            if not torch.equal(gathered, gathered[:1].expand_as(gathered)):
                raise RuntimeError("DDP ranks ended with different weights; see " + str(path))

    def current_lr(self) -> float:
        return lr_at(self.hparams.optim, int(self.batches_done))

    def _average_gradients(self, groups: list[tuple[list[torch.nn.Parameter], int]]) -> None:
        """All-reduce the gradients of each (params, contributing ranks) group and divide by that count;
        groups with 0 contributors get no gradient. A no-op in a single process."""
        if self.trainer.world_size == 1:
            return
        params = [(p, n) for group, n in groups if n > 0 for p in group]
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p, _ in params])
        dist.all_reduce(flat)
        offset = 0
        for p, n in params:
            p.grad = flat[offset:offset + p.numel()].view_as(p) / n
            offset += p.numel()
        for group, n in groups:
            if n == 0:
                for p in group:
                    p.grad = None

    def _step(self, optimizer, loss, groups, count: bool) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self._average_gradients(groups)
        clip = self.hparams.optim["clip_value"]
        if clip > 0:
            torch.nn.utils.clip_grad_value_([p for g, _ in groups for p in g if p.grad is not None], clip)
        # Lightning counts every LightningOptimizer step in global_step; C's raw step keeps it = batches
        optimizer.step() if count else optimizer.optimizer.step()

    def training_step(self, batch, batch_idx):
        self._disarm_ddp_reducer()
        codes, domain = batch["codes"], int(batch["domain"])
        if not self.full:  # the data module lists only the trained decoders
            domain = self.hparams.trainable[domain]
        opt_confusion, opt_autoencoder = self.optimizers()
        lr = self.current_lr()
        for opt in (opt_confusion, opt_autoencoder):
            for group in opt.optimizer.param_groups:
                group["lr"] = lr
        world = self.trainer.world_size
        used = (self.all_gather(torch.tensor(domain, device=self.device)).reshape(-1).tolist() if world > 1
                else [domain])
        target = torch.full((codes.shape[0],), domain, device=self.device)
        x = codes
        if self.hparams.augment["enabled"]:
            spans = draw_spans(codes, self.hparams.sample_rate, self.hparams.augment,
                               step_generator(self.hparams.seed, self.global_rank, int(self.batches_done)))
            x = augment_codes(codes, self.hparams.sample_rate, self.hparams.augment, spans=spans)
            if len(self._first_steps) < FIRST_STEPS:
                self._first_steps.append(torch.stack([codes.sum(1).double(), *(v.double() for v in spans)], 1))
        decoders = [(list(dec.parameters()), used.count(i)) for i, dec in enumerate(self.net.decoders)]
        if self.full:
            latent = self.net.encode(x)
            confusion_loss = F.cross_entropy(self.net.confusion(latent.detach()), target)
            self._step(opt_confusion, confusion_loss, [(list(self.net.confusion.parameters()), world)], False)
            # given the updated C
            loss, recon, adversarial = self.net.autoencoder_loss(latent, codes, domain,
                                                                 self.hparams.optim["confusion_weight"])
            groups = [(list(self.net.encoder.parameters()), world), *decoders]
            self.log_dict({"train/confusion": confusion_loss, "train/adversarial": adversarial})
        else:
            with torch.no_grad():
                latent = self.net.encode(codes if not self.hparams.augment["enabled"] else x)
            loss = recon = self.net.reconstruction_loss(latent, codes, domain)
            groups = [decoders[i] for i in self.hparams.trainable]
        self._step(opt_autoencoder, loss, groups, True)
        self.batches_done += 1
        self.log_dict({"train/loss": loss, "train/recon": recon, "lr": lr}, prog_bar=True)

    def validation_step(self, batch, batch_idx):
        codes, domain = batch["codes"], int(batch["domain"])
        if not self.full:
            domain = self.hparams.trainable[domain]
        latent = self.net.encode(codes)
        recon = self.net.reconstruction_loss(latent, codes, domain)
        self.log("val/loss", recon, sync_dist=True, batch_size=codes.shape[0])
        self.log(f"val/recon_{self.net.domains[domain]}", recon, batch_size=codes.shape[0])
        self._example_inputs.setdefault(domain, codes[0].detach())
        if domain < self.net.confusion.net[-1].out_channels:
            right = (self.net.confusion(latent).argmax(-1) == domain).float().mean()
            self.log("val/confusion_acc", right, sync_dist=True, batch_size=codes.shape[0])

    def audio_examples(self) -> dict:
        """Validation examples for the shared ExampleLogger: each domain's first validation segment and its
        reconstruction by its own decoder (autoregressive, ``example_seconds`` long)."""
        seconds, rate = self.hparams.example_seconds, self.hparams.sample_rate
        pool = self.net.model_args["pool"]
        n = int(seconds * rate) // pool * pool
        examples = {}
        for domain, codes in sorted(self._example_inputs.items()) if n else []:
            codes = codes[:n][None]
            out = generate(self, encode(self, codes), domain)[0, :codes.shape[1]]
            name = self.net.domains[domain]
            examples[f"{name}/input"] = (mu_law_decode(codes[0].cpu()), rate)
            examples[f"{name}/reconstruction"] = (mu_law_decode(out.cpu()), rate)
        self._example_inputs.clear()
        return examples
