"""spec/cpulist.py: the "0-3,7" lists of process.execCPUAffinity and linux.memoryPolicy
(config.md, config-linux.md), as runc parses them; the kernel's bitmap and list forms."""

import sys

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.spec import cpulist


@pytest.mark.parametrize("text,ids", [
    ("", []), ("0", [0]), ("0-3,7", [0, 1, 2, 3, 7]), (" 1 , 3-4 ,", [1, 3, 4]), ("5,1-2,2", [1, 2, 5]),
    ("1,,2", [1, 2]), ("65535", [65535]),
])
def test_parse(text, ids):
    assert cpulist.parse(text, "p") == ids


@pytest.mark.parametrize("text,message", [
    ("x", "p: 'x' is not a list such as \"0-3,7\""),
    ("1-", "p: '1-' is not a list such as \"0-3,7\""),
    ("-1", "p: '-1' is not a list such as \"0-3,7\""),
    ("١", "p: '١' is not a list such as \"0-3,7\""),  # a digit, but not an ASCII one
    ("3-1", "p: '3-1': invalid range '3-1'"),
    ("0-65536", "p: '0-65536': 65536 is out of range (maximum 65535)"),
])
def test_refused(text, message):
    with pytest.raises(ConfigError) as e:
        cpulist.parse(text, "p")
    assert str(e.value) == message


def test_mask_is_whole_words_in_host_order():
    assert cpulist.mask([]) == bytes(8)
    assert cpulist.mask([0, 2]) == (5).to_bytes(8, sys.byteorder)
    assert cpulist.mask([63, 64]) == (1 << 63).to_bytes(8, sys.byteorder) + (1).to_bytes(8, sys.byteorder)


def test_format_list_is_the_kernels():
    assert cpulist.format_list([]) == ""
    assert cpulist.format_list([3]) == "3"
    assert cpulist.format_list([0, 1, 2, 4, 6, 7]) == "0-2,4,6-7"
    assert cpulist.format_list(cpulist.parse("9,0-3", "p")) == "0-3,9"


@pytest.mark.parametrize("text", ["0", "0-3,7", " 1 , 3-4 ,", "5,1-2,2", "65535"])
def test_one_parser_for_the_config_and_the_systemd_driver(text):
    """spec's lists and the systemd driver's AllowedCPUs read a list alike: both are
    runtime/linux/idlist.parse, each with its own error text."""
    from pyrunc.runtime.linux import idlist
    from pyrunc.runtime.linux.cgroups import systemd_props

    ids = cpulist.parse(text, "p")
    assert ids == idlist.parse(text)
    bits = systemd_props.range_to_bits(text, "p")
    assert [i for i in range(len(bits) * 8) if bits[i // 8] >> (i % 8) & 1] == ids


@pytest.mark.parametrize("text, kind", [("x", "syntax"), ("+1", "syntax"), ("3-1", "order"), ("70000", "bound")])
def test_idlist_says_why_not_how(text, kind):
    from pyrunc.runtime.linux import idlist

    with pytest.raises(idlist.ListError) as e:
        idlist.parse(text)
    assert e.value.kind == kind
