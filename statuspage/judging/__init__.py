"""How a probe's results become its confirmed state and verdicts, one concern a module:
confirmation counting and what to report (`verdicts`), flapping (`flapping`) and the failure
evidence staff see (`evidence`). Each is a mixin of `statuspage.models.Probe` that works on
the probe's own fields; none imports the models."""
