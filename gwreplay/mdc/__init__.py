"""Mock-data challenge (MDC) generator: a store of simulated candidates with truth.

``gwreplay mdc STORE`` (:mod:`gwreplay.mdc.command`) writes a store shaped
like GraceDB's (``docs/store.md``) for a stretch of simulated observing:
compact-binary sources found by simulated CBC and burst searches, terrestrial
noise candidates, low-latency state-vector frames with planned data-quality
problems, the injection table and ``truth.json``, the expected outcome of each
candidate. See ``docs/mdc.md``. The entry point for code is
:func:`gwreplay.mdc.generate.generate_store`; this package imports nothing
heavy so that ``gwreplay --help`` stays fast.
"""
