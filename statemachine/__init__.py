"""The state machine definitions, as data: power_tuning.asl.json, fleet.asl.json
and workflow.asl.json.

Valid JSON with `${...}` placeholders; powertuning.asl reads and renders them for the stack and the
local engine. A package only so that the wheel can carry the files (as powertuning.statemachine).
"""
