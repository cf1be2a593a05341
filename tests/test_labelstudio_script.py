"""scripts/labelstudio.sh keeps its secrets: read as data, never on a command line, in a folder only
its owner can read."""

import os
import stat
import subprocess

from conftest import LS_SCRIPT


def run_script(*args: str, data) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABEL_STUDIO_DATA": str(data), "LABEL_STUDIO_PORT": "8999"}
    return subprocess.run([str(LS_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_credentials_are_read_as_data_not_run_as_shell_code(tmp_path):
    data = tmp_path / "ls"
    data.mkdir()
    marker = tmp_path / "executed"
    (data / "credentials.env").write_text(
        "LABEL_STUDIO_USERNAME=admin@newsevents.local\n"
        f"LABEL_STUDIO_PASSWORD=two words $(touch {marker}) `touch {marker}`\n"
        "LABEL_STUDIO_USER_TOKEN=0123456789abcdef\n", encoding="utf-8")
    result = run_script("env", data=data)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    shown = subprocess.run(["bash", "-c", result.stdout + 'printf %s "$LABEL_STUDIO_API_KEY"'],
                           capture_output=True, text=True)
    assert shown.stdout == "0123456789abcdef"


def test_the_data_folder_is_private(tmp_path):
    data = tmp_path / "ls"
    data.mkdir(mode=0o755)  # an older, open folder is closed again
    (data / "credentials.env").write_text("LABEL_STUDIO_USER_TOKEN=0123\n", encoding="utf-8")
    assert run_script("env", data=data).returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_env_of_a_server_never_started_is_an_error_not_a_new_token(tmp_path):
    data = tmp_path / "ls"
    result = run_script("env", data=data)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        f"no Label Studio credentials in {data}: start it first (LABEL_STUDIO_PORT=8999 LABEL_STUDIO_DATA={data} "
        "scripts/labelstudio.sh start), or set LABEL_STUDIO_DATA and LABEL_STUDIO_PORT to those it was started with")
    assert not (data / "credentials.env").exists()
