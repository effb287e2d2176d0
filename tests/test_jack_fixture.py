from tests import procs


def test_jack_server_lists_system_ports(jack_server):
    out = procs.run(["jack_lsp", "-s", jack_server.name], capture_output=True, text=True)
    assert out.returncode == 0
    assert "system:playback_1" in out.stdout
