"""The shipped Fast-DDS profile carries 30 Mev/s EventPackets between processes."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / 'config' / 'fastdds_event_camera.xml'
SCRIPT = Path(__file__).with_name('_big_packets.py')
NS = {'dds': 'http://www.eprosima.com'}
PACKET = 1_200_000   # a 10 ms EVT3 packet at 30 Mev/s


def test_profile_gives_shared_memory_a_large_segment_and_keeps_udp():
    root = ET.parse(PROFILE).getroot()
    kinds = {d.findtext('dds:type', namespaces=NS): d
             for d in root.iterfind('.//dds:transport_descriptor', NS)}
    assert set(kinds) == {'SHM', 'UDPv4'}
    assert int(kinds['SHM'].findtext('dds:segment_size', namespaces=NS)) >= 8 * PACKET
    ids = [e.text for e in root.iterfind('.//dds:userTransports/dds:transport_id', NS)]
    assert sorted(ids) == sorted(d.findtext('dds:transport_id', namespaces=NS)
                                 for d in kinds.values())
    assert root.find('.//dds:participant', NS).get('is_default_profile') == 'true'


def test_large_packets_cross_processes_with_sensor_qos():
    """Fast-DDS defaults lose most 1.2 MB best-effort packets; the profile loses few."""
    env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=str(PROFILE))
    recv = subprocess.Popen([sys.executable, str(SCRIPT), 'recv', str(PACKET), '20', '40'],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert recv.stdout.readline().strip() == 'ready'
        subprocess.run([sys.executable, str(SCRIPT), 'send', str(PACKET), '40'], env=env,
                       check=True, timeout=60)
        out, _ = recv.communicate(timeout=60)
    finally:
        recv.kill()
    received = int(out.split()[-1])
    print(f'received {received} of 40 packets of {PACKET} bytes')
    assert received >= 36
