import pytest

from newsevents.params import Params, ParamsError, load_params, parse_params

from conftest import ROOT


def test_defaults_and_overrides():
    assert parse_params({}) == Params()
    assert parse_params({"prepare": {"n_folds": 3}, "base": {"seed": 7}}).prepare.n_folds == 3


def test_unknown_key_is_an_error():
    with pytest.raises(ParamsError, match=r"prepare: unknown key\(s\) \['nfolds'\]"):
        parse_params({"prepare": {"nfolds": 3}})
    with pytest.raises(ParamsError, match=r"unknown key\(s\) \['trian'\]"):
        parse_params({"trian": {}})


def test_wrong_type_is_an_error():
    with pytest.raises(ParamsError, match=r"prepare.n_folds: expected int, got '5'"):
        parse_params({"prepare": {"n_folds": "5"}})
    with pytest.raises(ParamsError, match=r"base.seed: expected int, got True"):
        parse_params({"base": {"seed": True}})


def test_too_few_folds():
    with pytest.raises(ParamsError, match="n_folds must be at least 2"):
        parse_params({"prepare": {"n_folds": 1}})


def test_load_params_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("prepare:\n  n_folds: [\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"params\.yaml: not valid YAML"):
        load_params(path)
    path.write_text("prepare:\n  folds: 3\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"params\.yaml: .*unknown key"):
        load_params(path)


def test_defaults_are_the_committed_params():
    """Without params.yaml the code falls back to its defaults: they must be the same recipe."""
    assert load_params(ROOT / "params.yaml") == Params()


def test_list_params_are_checked_item_by_item():
    assert parse_params({"prepare": {"authored": ["authored"]}}).prepare.authored == ("authored",)
    with pytest.raises(ParamsError, match=r"prepare.authored: expected a list of str"):
        parse_params({"prepare": {"authored": "authored"}})
    with pytest.raises(ParamsError, match=r"prepare.authored: expected a list of str"):
        parse_params({"prepare": {"authored": ["authored", 3]}})
