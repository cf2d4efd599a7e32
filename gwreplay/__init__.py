"""gwreplay: an offline, reproducible replay of the LVK low-latency alert orchestrator.

The package holds the logic; the Snakemake workflow (``Snakefile``, ``rules/``)
maps gwcelery's orchestrator flow chart onto file targets and calls thin
adapters in ``scripts/`` that import from here.
"""

__version__ = "0.1.0"
