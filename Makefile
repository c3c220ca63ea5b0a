# One entry point for installing, testing, benchmarking, building data, training and evaluating.
#   make eval-all                      every paper's experiments -> reports/README.md (main job)
#   make test                          the default test suite (excludes `slow`)
#   make readme-results                copy eval-all's reports to docs/results/ and README's numbers from them
#   make readme-plan GPUS=8            every paper preset's plan into docs/results/plan/ and the README
#   make train-translation GPUS=8      Lightning DDP on 8 GPUs; NODES=M for multi-node (torchrun or SLURM)
#   make train-davae GPUS=0 CONFIG=paper DATA=/data/MAPS ARGS="trainer.max_steps=1000 run.name=exp1"
#   make plan-translation GPUS=8 CONFIG=paper    what the preset costs on 8 GPUs (measured here, projected there)

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

GPUS ?=
NODES ?= 1
CONFIG ?= default
DATA ?=
ARGS ?=
NODE_RANK ?= 0
MASTER_ADDR ?= 127.0.0.1
MASTER_PORT ?= 29500
PYTEST_ARGS ?=

# paper target name -> package
PKG_davae := da_vae
PKG_translation := music_translation
PKG_speech2sing := speech2sing
PKG_gmvae := gmvae_timbre
PKG_realtime := realtime_ae
PAPERS := davae translation speech2sing gmvae realtime

# GPUS=0 -> CPU; GPUS=N -> N GPUs on each node; unset -> whatever the config says.
DEVICE_ARGS := $(if $(GPUS),$(if $(filter 0,$(GPUS)),trainer.accelerator=cpu trainer.devices=1,trainer.accelerator=gpu trainer.devices=$(GPUS)))
NODE_ARGS := $(if $(filter-out 1,$(NODES)),trainer.num_nodes=$(NODES))
DATA_ARGS := $(if $(DATA),data.root=$(DATA))
PLAN_ARGS := $(if $(filter-out 0,$(GPUS)),--gpus $(GPUS)) $(if $(filter-out 1,$(NODES)),--nodes $(NODES))
RUN_ARGS = --config $(CONFIG) $(DEVICE_ARGS) $(NODE_ARGS) $(DATA_ARGS) $(ARGS)
# Multi-node: under SLURM, srun starts one task per GPU and Lightning reads SLURM_*; elsewhere torchrun
# starts the local processes and Lightning reads the torchelastic environment. Single node: plain python,
# Lightning's DDP launcher spawns the other local ranks itself.
ifneq ($(NODES),1)
  ifdef SLURM_JOB_ID
    LAUNCH := srun $(PY) -m
  else
    LAUNCH := $(VENV)/bin/torchrun --nnodes=$(NODES) --nproc-per-node=$(if $(filter-out 0,$(GPUS)),$(GPUS),1) \
      --node-rank=$(NODE_RANK) --master-addr=$(MASTER_ADDR) --master-port=$(MASTER_PORT) -m
  endif
else
  LAUNCH := $(PY) -m
endif

.PHONY: install test test-all lint bench data eval-all readme-results readme-plan clean-runs \
  $(addprefix train-,$(PAPERS)) $(addprefix eval-,$(PAPERS)) $(addprefix prepare-,$(PAPERS)) \
  $(addprefix plan-,$(PAPERS))

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh scripts/install_system.sh
	bash scripts/install.sh

test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

data: $(STAMP)
	$(PY) -m common.corpora build --root data/synthetic

# A paper's verbs exist once its package has a __main__.py; until then the target says so and fails.
define paper_targets
prepare-$(1): $(STAMP)
	@test -f $(PKG_$(1))/__main__.py || { echo "error: $(PKG_$(1)) is not built yet (see its issue)"; exit 2; }
	$(PY) -m $(PKG_$(1)) prepare --config $(CONFIG) $(DATA_ARGS) $(ARGS)
train-$(1): $(STAMP)
	@test -f $(PKG_$(1))/__main__.py || { echo "error: $(PKG_$(1)) is not built yet (see its issue)"; exit 2; }
	$(LAUNCH) $(PKG_$(1)) train $(RUN_ARGS)
eval-$(1): $(STAMP)
	@test -f $(PKG_$(1))/__main__.py || { echo "error: $(PKG_$(1)) is not built yet (see its issue)"; exit 2; }
	$(PY) -m $(PKG_$(1)) eval $(RUN_ARGS)
plan-$(1): $(STAMP)
	$(PY) -m $(PKG_$(1)) plan --config $(CONFIG) $(PLAN_ARGS) $(DATA_ARGS) $(ARGS)
endef
$(foreach paper,$(PAPERS),$(eval $(call paper_targets,$(paper))))

eval-all: $(STAMP)
	$(PY) -m common.eval_all --config $(CONFIG) $(DEVICE_ARGS) $(DATA_ARGS) $(ARGS)

readme-results: $(STAMP)
	$(PY) -m common.report.publish --preset $(CONFIG)

# What CONFIG=paper costs on GPUS (default 8) A100s, every paper, into docs/results/plan/ and the README.
readme-plan: $(STAMP)
	@mkdir -p docs/results/plan
	$(foreach paper,$(PAPERS),$(PY) -m $(PKG_$(paper)) plan --config paper --gpus $(or $(GPUS),8) \
	  --json docs/results/plan/$(PKG_$(paper)).json $(DATA_ARGS) > docs/results/plan/$(PKG_$(paper)).md &&) true
	$(PY) -m common.report.publish --plan docs/results/plan

clean-runs:
	rm -rf runs reports
