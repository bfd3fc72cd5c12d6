"""Everything that knows config.json: loading and checking it into a Plan, the defaults
that ``pyrunc spec`` writes, and the option tables of runtime-spec 1.3.0.
Layer: spec (between process and linux: may import linux's pure helpers and the base).

Nothing here makes a system call that changes state: the Plan is data, testable without root.
"""
