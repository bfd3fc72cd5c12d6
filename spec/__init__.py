"""Everything that knows config.json: loading and checking it into a Plan, the defaults
that ``pyrunc spec`` writes, and the option tables of runtime-spec 1.3.0.

Nothing here makes a system call that changes state: the Plan is data, testable without root.
"""
