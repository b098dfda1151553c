"""Robustness and false accepts of a bundle, measured through the real segmenter.

* :mod:`.sets`: deterministic held-out test sets (digit items in clean / babble / noise /
  reverberant conditions, negative clips, continuous streams), written once to the cache;
* :mod:`.score`: the model run once per item or stream through :mod:`realtime.pipeline`
  (threshold applied afterwards), outcomes, false accepts per hour, threshold sweep;
* :mod:`.report`: the runs of ``spoken-digits robustness`` and ``spoken-digits far``,
  their tables, JSON and DET plot; :mod:`.cli`: the commands.
"""
