"""The whole system end to end on one machine (`stopframe demo`): media made on the spot, a
registry and a matcher as real processes on loopback, a victim's case, a platform's uploads,
reports, a withdrawal and an investigator's triage, each stage checked."""

from stopframe.demo.processes import StageFailed
from stopframe.demo.run import DemoOptions, DemoRun, run_demo

__all__ = ["DemoOptions", "DemoRun", "StageFailed", "run_demo"]
