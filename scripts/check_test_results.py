"""Fail a test run that passed without testing: nothing passed, or skips beyond the expected.

The only expected skips are the Automation API variants of the end-to-end tests, which need
the Pulumi CLI; every other skip means part of the suite silently did not run.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

EXPECTED_SKIP = "pulumi CLI not on PATH"


def main(path: str) -> int:
    cases = ET.parse(path).getroot().iter("testcase")
    passed, skipped, unexpected = 0, 0, []
    for case in cases:
        skip = case.find("skipped")
        if skip is not None:
            skipped += 1
            if EXPECTED_SKIP not in (skip.get("message") or ""):
                unexpected.append(f"{case.get('classname')}::{case.get('name')}: {skip.get('message')}")
        elif case.find("failure") is None and case.find("error") is None:
            passed += 1
    if passed == 0:
        print("check: no test passed", file=sys.stderr)
        return 1
    if unexpected:
        print("check: unexpected skips:\n  " + "\n  ".join(unexpected), file=sys.stderr)
        return 1
    print(f"check: {passed} passed, {skipped} skipped (Automation API variants without the Pulumi CLI)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
