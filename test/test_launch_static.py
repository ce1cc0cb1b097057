"""Static checks of launch/*.launch.py (launch and launch_ros are not installable here).

Each file is parsed with ``ast``: it defines ``generate_launch_description``; every executable
it names is in resource/executables; every params file or config it names exists in config/;
every ``DeclareLaunchArgument`` has a description; every ``LaunchConfiguration`` it reads is
declared (in the file or, for included ones, in snn_ros.launch.py); every topic it remaps is
one a node declares.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAUNCH = sorted((REPO / 'launch').glob('*.launch.py'))
USE_CASES = ('snn_ros', 'event_camera', 'biosignal', 'imu_control', 'simulation', 'replay')


def _executables() -> set[str]:
    lines = (REPO / 'resource' / 'executables').read_text().splitlines()
    return {ln.split('=')[0].strip() for ln in lines if ln.strip() and not ln.startswith('#')}


def _node_topics() -> set[str]:
    """Return every topic literal the nodes subscribe or publish (and adapter input topics)."""
    topics = set()
    for path in (REPO / 'snn_ros' / 'nodes').glob('*.py'):
        for call in ast.walk(ast.parse(path.read_text())):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, 'attr', getattr(call.func, 'id', ''))
            if name in ('create_subscription', 'create_publisher') and len(call.args) > 1 \
                    and isinstance(call.args[1], ast.Constant):
                topics.add(call.args[1].value)
            for kw in call.keywords:
                if kw.arg == 'input_topic' and isinstance(kw.value, ast.Constant):
                    topics.add(kw.value.value)
    return topics


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, 'id', getattr(n.func, 'attr', None)) == name]


def _str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _declared(tree: ast.AST) -> set[str]:
    out = set()
    for call in _calls(tree, 'DeclareLaunchArgument'):
        if call.args and _str(call.args[0]):
            out.add(_str(call.args[0]))
        elif call.args and isinstance(call.args[0], ast.Name):
            out.add('*' + call.args[0].id)  # declared in a comprehension
    return out


def _adapters_table(tree: ast.AST) -> dict[str, tuple[str, ...]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', '') == 'ADAPTERS'
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _graph_arguments() -> set[str]:
    """Return every argument snn_ros.launch.py declares (sensor topics included)."""
    tree = ast.parse((REPO / 'launch' / 'snn_ros.launch.py').read_text())
    return ({d for d in _declared(tree) if not d.startswith('*')}
            | {v[2] for v in _adapters_table(tree).values()})


def launch_arguments(path: Path) -> set[str]:
    """Return the arguments a user can pass to ``path``, following its graph include.

    Those it declares, plus those of snn_ros.launch.py that it includes without fixing: a
    command-line value reaches the included file, whose declaration supplies the default.
    """
    tree = ast.parse(path.read_text())
    offered = {d for d in _declared(tree) if not d.startswith('*')}
    for call in _calls(tree, 'IncludeLaunchDescription'):
        fixed = set()
        for node in ast.walk(_kw(call, 'launch_arguments') or ast.Constant(None)):
            if isinstance(node, ast.Dict):
                fixed |= {_str(k) for k, v in zip(node.keys, node.values)
                          if not (_calls(v, 'LaunchConfiguration') and _str(k) in offered)}
        offered |= _graph_arguments() - fixed
    return offered


def test_every_use_case_has_a_launch_file():
    names = {p.name[:-len('.launch.py')] for p in LAUNCH}
    assert set(USE_CASES) <= names, set(USE_CASES) - names


@pytest.mark.parametrize('path', LAUNCH, ids=lambda p: p.name)
def test_launch_file_is_well_formed(path):
    tree = ast.parse(path.read_text())
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert 'generate_launch_description' in funcs
    declared = _declared(tree)
    assert declared, 'no launch arguments'
    for call in _calls(tree, 'DeclareLaunchArgument'):
        desc = _kw(call, 'description')
        assert desc is not None, f'{path.name}: argument without description'
        assert not isinstance(desc, ast.Constant) or desc.value.strip()
    executables = _executables()
    table = _adapters_table(tree)
    named = [_str(_kw(c, 'executable')) for c in _calls(tree, 'Node')]
    named += [v[0] for v in table.values()]
    for exe in filter(None, named):
        assert exe in executables, f'{path.name}: executable {exe!r} not in resource/executables'
    for const in ast.walk(tree):
        text = _str(const)
        if text and text.endswith('.yaml'):
            assert (REPO / 'config' / text).is_file(), f'{path.name}: config/{text} missing'
        if text and text.endswith('.launch.py'):
            assert (REPO / 'launch' / text).is_file(), f'{path.name}: launch/{text} missing'


@pytest.mark.parametrize('path', LAUNCH, ids=lambda p: p.name)
def test_launch_configurations_are_declared(path):
    tree = ast.parse(path.read_text())
    declared = {d for d in _declared(tree) if not d.startswith('*')}
    if any(d.startswith('*') for d in _declared(tree)):
        declared |= {v[2] for v in _adapters_table(tree).values()}
    for call in _calls(tree, 'LaunchConfiguration'):
        name = _str(call.args[0]) if call.args else None
        if name:
            assert name in declared, f'{path.name}: LaunchConfiguration({name!r}) undeclared'


@pytest.mark.parametrize('path', LAUNCH, ids=lambda p: p.name)
def test_included_launch_arguments_exist(path):
    tree = ast.parse(path.read_text())
    graph_args = _declared(ast.parse((REPO / 'launch' / 'snn_ros.launch.py').read_text()))
    graph_args |= {v[2] for v in _adapters_table(
        ast.parse((REPO / 'launch' / 'snn_ros.launch.py').read_text())).values()}
    for call in _calls(tree, 'IncludeLaunchDescription'):
        args = _kw(call, 'launch_arguments')
        for const in ast.walk(args) if args is not None else []:
            if isinstance(const, ast.Dict):
                for key in const.keys:
                    assert _str(key) in graph_args, f'{path.name}: {_str(key)} not accepted'


@pytest.mark.parametrize('path', LAUNCH, ids=lambda p: p.name)
def test_declared_arguments_are_used_or_forwarded(path):
    """A wrapper's argument either feeds its own actions or reaches the included graph."""
    tree = ast.parse(path.read_text())
    read = {_str(c.args[0]) for c in _calls(tree, 'LaunchConfiguration') if c.args}
    for name in _declared(tree):
        assert name.startswith('*') or name in read, f'{path.name}: {name} declared, unused'


@pytest.mark.parametrize('path', [p for p in LAUNCH if p.name != 'snn_ros.launch.py'],
                         ids=lambda p: p.name)
def test_use_case_launch_offers_the_graph_arguments(path):
    """Every use case includes the graph and lets the user set its common arguments."""
    tree = ast.parse(path.read_text())
    assert _calls(tree, 'IncludeLaunchDescription'), f'{path.name}: graph not included'
    assert 'snn_ros.launch.py' in {_str(n) for n in ast.walk(tree)}
    offered = launch_arguments(path)
    common = {'params_file', 'use_sim_time', 'use_composition', 'checkpoint', 'namespace',
              'log_level'}
    if path.name == 'replay.launch.py':
        common.remove('use_sim_time')  # always true: the nodes follow the bag's --clock
    for arg in sorted(common):
        assert arg in offered, f'{path.name}: {arg} cannot be set'


@pytest.mark.parametrize('path', LAUNCH, ids=lambda p: p.name)
def test_remapped_topics_are_declared_by_nodes(path):
    tree = ast.parse(path.read_text())
    topics = _node_topics()
    remapped = [v[1] for v in _adapters_table(tree).values()]
    for call in _calls(tree, 'Node'):
        remaps = _kw(call, 'remappings')
        if isinstance(remaps, ast.List):
            for elt in remaps.elts:
                if isinstance(elt, ast.Tuple) and _str(elt.elts[0]):
                    remapped.append(_str(elt.elts[0]))
    for topic in remapped:
        assert topic in topics, f'{path.name}: remaps {topic!r}, which no node declares'


def test_config_files_are_complete_for_their_launch_file():
    """Every use-case launch names a config that exists and holds the nodes it runs."""
    import yaml

    for case in ('event_camera', 'biosignal', 'imu_control', 'simulation'):
        tree = ast.parse((REPO / 'launch' / f'{case}.launch.py').read_text())
        doc = yaml.safe_load((REPO / 'config' / f'{case}.yaml').read_text())
        adapters = next(_str(_kw(c, 'default_value')) for c in _calls(
            tree, 'DeclareLaunchArgument') if _str(c.args[0]) == 'adapters')
        for node in adapters.split(',') + ['snn_core', 'readout']:
            assert 'ros__parameters' in doc[node], f'{case}.yaml: {node} missing'
