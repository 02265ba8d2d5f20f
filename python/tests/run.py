#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run the binding's unittest cases, one PASS:/FAIL:/SKIP: line each.

  run.py [SUITE [PATTERN]]  every python/tests/test_*.py (or those PATTERN matches, e.g.
                      "test_pydivert_*.py"); lines read "PASS: SUITE.module.case"
                      (SUITE defaults to "python"); exit status 1 if any failed

A failure is followed by its traceback, each line starting with "#   ".
Cases that need root and network namespaces skip themselves unless
tests/netns/test_python.sh set them up.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the ipredir package


def short(word):
    return word[5:] if word.startswith("test_") else word


def case_name(suite, test):
    """SUITE.module.case for test_case of tests/test_module.py; SUITE.module.Class
    for a class fixture ("setUpClass (test_module.Class)")."""
    what = test.id()
    if not hasattr(test, "_testMethodName"):
        what = what[what.find("(") + 1:].rstrip(")")
    parts = what.split(".")
    return "%s.%s.%s" % (suite, short(parts[0]), short(parts[-1]))


class LineResult(unittest.TestResult):
    """Prints one line a case, in the format tests/run.sh counts."""

    def __init__(self, suite):
        super().__init__()
        self.suite = suite

    def name(self, test):
        return case_name(self.suite, getattr(test, "test_case", test))  # a subtest's case

    def say(self, line):
        print(line, flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.say("PASS: " + self.name(test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.say("SKIP: %s (%s)" % (self.name(test), reason))

    def report_problem(self, test, err):
        text = self._exc_info_to_string(err, test)  # type: ignore[attr-defined]  # not in typeshed
        first = (str(err[1]).strip().splitlines() or [""])[0]
        self.say("FAIL: %s (%s: %s)" % (self.name(test), err[0].__name__, first))
        for line in text.rstrip().splitlines():
            self.say("#   " + line)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.report_problem(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self.report_problem(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.report_problem(subtest, err)


def main():
    suite_name = sys.argv[1] if len(sys.argv) > 1 else "python"
    pattern = sys.argv[2] if len(sys.argv) > 2 else "test_*.py"
    tests = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = LineResult(suite_name)
    tests.run(result)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
