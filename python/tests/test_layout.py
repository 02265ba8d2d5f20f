# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ctypes mirrors match include/ipredir.h: a C program, generated from the
mirrors' own field lists and compiled against the header, prints every size,
offset and constant, and they are compared with what ctypes computes."""
import ctypes
import unittest

import ipredir
from ipredir import _lib
from ipredir.redirector import TUPLE_STRUCTS
from support import c_program_output

FIELD_MACRO = ('#define FIELD(s, f) printf(#s "." #f " %zu %zu\\n", offsetof(struct s, f), '
               'sizeof(((struct s *)0)->f))')


def c_program():
    """C source printing "NAME VALUE" lines for what the binding mirrors."""
    body = []
    for cname, struct in _lib.C_STRUCTS.items():
        body.append('printf("%s %%zu\\n", sizeof(struct %s));' % (cname, cname))
        body += ["FIELD(%s, %s);" % (cname, field[0]) for field in struct._fields_]
    body += ['printf("IPR_%s %%lld\\n", (long long)IPR_%s);' % (name, name)
             for name in _lib.C_CONSTANTS]
    body.append('printf("IPR_VERSION_STRING %s\\n", IPR_VERSION_STRING);')
    return "\n".join(["#include <stddef.h>", "#include <stdio.h>", "#include <ipredir.h>",
                      FIELD_MACRO, "int main(void)", "{"] +
                     ["\t" + line for line in body] + ["\treturn 0;", "}", ""])


def python_view():
    """The same lines, as the binding sees them."""
    lines = []
    for cname, struct in _lib.C_STRUCTS.items():
        lines.append("%s %d" % (cname, ctypes.sizeof(struct)))
        lines += ["%s.%s %d %d" % (cname, field, getattr(struct, field).offset,
                                   getattr(struct, field).size)
                  for field in (entry[0] for entry in struct._fields_)]
    lines += ["IPR_%s %d" % (name, getattr(_lib, name)) for name in _lib.C_CONSTANTS]
    lines.append("IPR_VERSION_STRING %s" % ipredir.version())
    return lines


class Layout(unittest.TestCase):
    def c_view(self):
        return c_program_output(self, c_program())

    def test_structs_and_constants(self):
        c, py = self.c_view(), python_view()
        self.assertEqual(len(c), len(py))
        wrong = ["C: %s, ctypes: %s" % pair for pair in zip(c, py) if pair[0] != pair[1]]
        if wrong:
            self.fail("the binding disagrees with include/ipredir.h: " + "; ".join(wrong))

    def test_tuples_name_the_struct_fields(self):
        for cls, struct in TUPLE_STRUCTS.items():
            self.assertEqual(list(cls._fields), [entry[0] for entry in struct._fields_])


if __name__ == "__main__":
    unittest.main()
