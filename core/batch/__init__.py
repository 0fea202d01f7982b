"""Batch jobs over whole photo folders: the same per-photo ``core`` functions as the single-photo commands, run by a
local process pool or by Ray Data, with one output per input, a resumable manifest and atomic writes.

Modules: ``files`` (listing, output names, atomic writes), ``manifest`` (the JSON Lines record and resume rule),
``jobs`` (what a worker does with a batch of inputs), ``engines`` (local pool, Ray), ``run`` (the driver).
Ray is imported only by the Ray engine.
"""
