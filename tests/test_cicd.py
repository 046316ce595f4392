"""CI/CD files of the generated project, per platform and deployment pattern.

One bake per (platform, pattern) with unusual branch names, so that nothing can pass by
hard-coding `main` or `release`; a few more bakes with branch names full of characters that
YAML, glob filters and CI expressions treat specially. The external validators run once per
bake (check-jsonschema with the platform's vendored schema) or once in all (zizmor).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from baking import PATTERNS, bake

pytestmark = pytest.mark.xdist_group("cicd")

PLATFORMS = ("github_actions", "azure_devops", "gitlab")
BRANCHES = {"default_branch": "trunk", "release_branch": "releases/prod"}
# Valid for `git check-ref-format --branch`, awkward for YAML, glob filters and CI expressions.
ODD_BRANCHES = {"default_branch": "dev'it+x!#1", "release_branch": 'rel/"v2"&co'}
CLI_VERSION = "1.13.0"
PROMOTION_TARGETS = {"deploy_code": [], "deploy_model": ["staging", "prod"], "hybrid": ["prod"]}
SCHEMAS = {
    "github_actions": "vendor.github-workflows",
    "azure_devops": "vendor.azure-pipelines",
    "gitlab": "vendor.gitlab-ci",
}
COMBOS = [(platform, pattern) for platform in PLATFORMS for pattern in PATTERNS]
COMBO_IDS = [f"{platform}-{pattern}" for platform, pattern in COMBOS]
BUNDLE_COMMAND = re.compile(r"databricks bundle (deploy|run|validate|destroy)\b([^\n\"']*)")


def baked(platform: str, pattern: str, branches: dict = BRANCHES):
    return bake(cicd_platform=platform, deployment_pattern=pattern, **branches)


def ci_files(project) -> list[str]:
    return sorted(
        f
        for f in project.relative_files()
        if f.startswith((".github/", ".azure-pipelines/", ".gitlab/")) or f == ".gitlab-ci.yml"
    )


def expected_ci_files(platform: str, pattern: str) -> set[str]:
    promote = pattern != "deploy_code"
    if platform == "github_actions":
        names = ["ci.yml", "deploy.yml"] + (["promote-model.yml"] if promote else [])
        return {f".github/workflows/{name}" for name in names}
    if platform == "azure_devops":
        names = ["ci.yml", "deploy.yml"] + (["promote-model.yml"] if promote else [])
        names += ["templates/install-databricks-cli.yml", "templates/databricks-step.yml"]
        return {f".azure-pipelines/{name}" for name in names}
    return {".gitlab-ci.yml"}


def tool(name: str) -> str:
    """An executable next to this interpreter or on PATH; fail loudly when it is missing."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"`{name}` is not installed: pip install -r requirements-dev.txt")
    return found


def run_check_jsonschema(schema: str, paths: list[Path]) -> subprocess.CompletedProcess:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.fail("check-jsonschema is not installed: pip install -r requirements-dev.txt")
    # The vendored Azure Pipelines schema has patterns that the default (unicode ECMAScript)
    # regex engine rejects as invalid escapes; non-unicode mode compiles them.
    variant = ["--regex-variant", "nonunicode"] if schema == "vendor.azure-pipelines" else []
    command = [sys.executable, "-m", "check_jsonschema", *variant, "--builtin-schema", schema]
    return subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, timeout=120)


def bundle_commands(text: str) -> list[tuple[str, str | None, str | None]]:
    """(verb, target, job) of every `databricks bundle <verb>` in a CI file."""
    found = []
    for verb, rest in BUNDLE_COMMAND.findall(text):
        words = shlex.split(rest.split("#")[0].split("(")[0])
        target = next(
            (b for a, b in zip(words, words[1:], strict=False) if a in ("-t", "--target")), None
        )
        job = next((w for w in words if not w.startswith("-") and w != target), None)
        found.append((verb, target, job if verb == "run" else None))
    return found


def github_on(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # PyYAML reads a bare `on` key as True


# --- files, schemas, zizmor ---------------------------------------------------------------


@pytest.mark.parametrize(("platform", "pattern"), COMBOS, ids=COMBO_IDS)
def test_platform_gets_exactly_its_ci_files(platform, pattern):
    project = baked(platform, pattern)
    assert set(ci_files(project)) == expected_ci_files(platform, pattern)
    assert "docs/ci-cd.md" in project.relative_files()


def test_no_platform_gets_no_ci_files():
    project = bake(cicd_platform="none", **BRANCHES)
    assert ci_files(project) == []
    assert "docs/ci-cd.md" not in project.relative_files()


@pytest.mark.parametrize(
    ("platform", "pattern", "branches"),
    [(p, pat, BRANCHES) for p, pat in COMBOS]
    + [(p, "deploy_model", ODD_BRANCHES) for p in PLATFORMS],
    ids=COMBO_IDS + [f"{p}-odd_branches" for p in PLATFORMS],
)
def test_ci_files_validate_against_the_platform_schema(platform, pattern, branches):
    project = baked(platform, pattern, branches)
    files = [project.path / f for f in ci_files(project)]
    result = run_check_jsonschema(SCHEMAS[platform], files)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_github_workflows_pass_zizmor():
    projects = [baked("github_actions", p) for p in PATTERNS]
    projects.append(baked("github_actions", "deploy_model", ODD_BRANCHES))
    workflows = [str(p.path / ".github" / "workflows") for p in projects]
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "json", *workflows],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert result.returncode == 0, result.stderr[-2000:]


# --- branch names -------------------------------------------------------------------------


def unescape_glob(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern)


@pytest.mark.parametrize("branches", [BRANCHES, ODD_BRANCHES], ids=["unusual", "odd"])
def test_github_branches_are_the_answered_ones(branches):
    project = baked("github_actions", "hybrid", branches)
    default, release = branches["default_branch"], branches["release_branch"]
    ci = project.yaml(".github/workflows/ci.yml")
    deploy = project.yaml(".github/workflows/deploy.yml")
    pr_branches = github_on(ci)["pull_request"]["branches"]
    push_branches = github_on(deploy)["push"]["branches"]
    assert [unescape_glob(b) for b in pr_branches] == [default, release]
    assert [unescape_glob(b) for b in push_branches] == [default, release]
    quoted = {name: "'" + name.replace("'", "''") + "'" for name in (default, release)}
    assert deploy["jobs"]["staging"]["if"] == f"github.ref_name == {quoted[default]}"
    assert deploy["jobs"]["prod"]["if"] == f"github.ref_name == {quoted[release]}"
    assert deploy["jobs"]["staging"]["environment"] == "staging"
    assert deploy["jobs"]["prod"]["environment"] == "prod"


@pytest.mark.parametrize("branches", [BRANCHES, ODD_BRANCHES], ids=["unusual", "odd"])
def test_azure_devops_branches_are_the_answered_ones(branches):
    project = baked("azure_devops", "deploy_model", branches)
    default, release = branches["default_branch"], branches["release_branch"]
    ci = project.yaml(".azure-pipelines/ci.yml")
    deploy = project.yaml(".azure-pipelines/deploy.yml")
    assert ci["pr"]["branches"]["include"] == [default, release]
    assert deploy["trigger"]["branches"]["include"] == [default, release]
    variables = {v["name"]: v["value"] for v in deploy["variables"]}
    assert variables["DEFAULT_BRANCH_REF"] == f"refs/heads/{default}"
    assert variables["RELEASE_BRANCH_REF"] == f"refs/heads/{release}"
    stages = {stage["stage"]: stage for stage in deploy["stages"]}
    assert "variables['DEFAULT_BRANCH_REF']" in stages["staging"]["condition"]
    assert "variables['RELEASE_BRANCH_REF']" in stages["prod"]["condition"]


@pytest.mark.parametrize("branches", [BRANCHES, ODD_BRANCHES], ids=["unusual", "odd"])
def test_gitlab_branches_are_the_answered_ones(branches):
    project = baked("gitlab", "deploy_model", branches)
    config = project.yaml(".gitlab-ci.yml")
    assert config["variables"]["DEFAULT_BRANCH_NAME"] == {
        "value": branches["default_branch"],
        "expand": False,
    }
    assert config["variables"]["RELEASE_BRANCH_NAME"] == {
        "value": branches["release_branch"],
        "expand": False,
    }
    assert "$CI_COMMIT_BRANCH == $DEFAULT_BRANCH_NAME" in config["deploy-staging"]["rules"][0]["if"]
    assert "$CI_COMMIT_BRANCH == $RELEASE_BRANCH_NAME" in config["deploy-prod"]["rules"][0]["if"]
    assert "$RELEASE_BRANCH_NAME" in config["promote-prod"]["rules"][0]["if"]
    assert "$DEFAULT_BRANCH_NAME" in config["promote-staging"]["rules"][0]["if"]


def yaml_strings(node) -> list[str]:
    """Every key and value of a parsed YAML document (comments are prose, not configuration)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in yaml_strings(k) + yaml_strings(v)]
    if isinstance(node, list):
        return [s for item in node for s in yaml_strings(item)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize(("platform", "pattern"), COMBOS, ids=COMBO_IDS)
def test_nothing_hard_codes_main_or_release(platform, pattern):
    project = baked(platform, pattern)
    word = re.compile(r"(?<![\w/.-])(main|master|release)(?![\w/-])")
    for relative in ci_files(project):
        hits = [s for s in yaml_strings(project.yaml(relative)) if word.search(s)]
        assert hits == [], f"{relative} names a branch the user did not answer: {hits}"
    docs = project.read("docs/ci-cd.md")
    # Prose may say "release managers"; branch names appear in backticks.
    assert re.findall(r"`(?:refs/heads/)?(main|master|release)`", docs) == []
    assert f"`{BRANCHES['default_branch']}`" in docs
    assert f"`{BRANCHES['release_branch']}`" in docs


# --- commands, targets, jobs --------------------------------------------------------------


@pytest.mark.parametrize(("platform", "pattern"), COMBOS, ids=COMBO_IDS)
def test_bundle_commands_name_targets_and_jobs_the_bundle_defines(platform, pattern):
    project = baked(platform, pattern)
    commands = set()
    for relative in ci_files(project):
        for verb, target, job in bundle_commands(project.read(relative)):
            assert target in project.yaml("databricks.yml")["targets"], (
                f"{relative}: `databricks bundle {verb}` without a target the bundle defines"
            )
            if verb == "run":
                assert job in project.jobs_in_target(target), (
                    f"{relative}: runs {job} in {target}, which has "
                    f"{sorted(project.jobs_in_target(target))}"
                )
            commands.add((verb, target, job))
    expected = {
        ("validate", "staging", None),
        ("validate", "prod", None),
        ("deploy", "test", None),
        ("run", "test", "training_job"),
        # The first scoring run makes the predictions table (and monitor): test scores too.
        ("run", "test", "batch_inference_job"),
        ("destroy", "test", None),
        ("deploy", "staging", None),
        ("run", "staging", "batch_inference_job"),
        ("deploy", "prod", None),
    } | {("run", target, "promotion_job") for target in PROMOTION_TARGETS[pattern]}
    # Where staging's champion comes from: its own training, or promotions from dev_shared,
    # which the merge pipeline deploys and trains.
    if pattern == "deploy_model":
        expected |= {("deploy", "dev_shared", None), ("run", "dev_shared", "training_job")}
    else:
        expected |= {("run", "staging", "training_job")}
    assert expected <= commands, sorted(expected - commands)
    assert not {c for c in commands if c[2] == "promotion_job"} - expected


@pytest.mark.parametrize(("platform", "pattern"), COMBOS, ids=COMBO_IDS)
def test_integration_test_targets_the_workspace_of_the_pattern(platform, pattern):
    project = baked(platform, pattern)
    targets = project.yaml("databricks.yml")["targets"]
    host = targets["test"]["workspace"]["host"]
    workspace = "staging" if pattern == "deploy_code" else "dev"
    assert host == targets[workspace]["workspace"]["host"]
    if platform == "github_actions":
        ci = project.yaml(".github/workflows/ci.yml")
        hosts = {ci["jobs"]["integration-test"]["env"]["DATABRICKS_HOST"]}
    elif platform == "gitlab":
        hosts = {project.yaml(".gitlab-ci.yml")["integration-test"]["variables"]["DATABRICKS_HOST"]}
    else:
        stage = project.yaml(".azure-pipelines/ci.yml")["stages"][-1]
        steps = stage["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
        hosts = {s["parameters"]["host"] for s in steps if "host" in s.get("parameters", {})}
    assert hosts == {host}


# --- security and operability ---------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
def test_github_least_privilege_oidc_and_pins(pattern):
    project = baked("github_actions", pattern)
    for relative in ci_files(project):
        workflow = project.yaml(relative)
        text = project.read(relative)
        assert workflow["permissions"] == {}, relative
        for uses in re.findall(r"uses: (\S+)(.*)", text):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses[0]), uses
            assert re.fullmatch(r" # v\d+\.\d+\.\d+", uses[1]), uses
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("timeout-minutes"), int), f"{relative}:{name} no timeout"
            steps_text = json.dumps(job["steps"])
            talks_to_databricks = "databricks bundle" in steps_text
            permissions = job["permissions"]
            assert permissions.get("contents") == "read"
            assert (permissions.get("id-token") == "write") == talks_to_databricks, name
            assert set(permissions) <= {"contents", "id-token"}
            if talks_to_databricks:
                env = job["env"]
                assert env["DATABRICKS_AUTH_TYPE"] == "github-oidc"
                assert env["DATABRICKS_HOST"].startswith("https://")
                assert env["DATABRICKS_CLIENT_ID"].startswith("${{ vars.")
                setup = [s for s in job["steps"] if "databricks/setup-cli" in s.get("uses", "")]
                assert setup and setup[0]["with"]["version"] == "${{ env.DATABRICKS_CLI_VERSION }}"
                assert workflow["env"]["DATABRICKS_CLI_VERSION"] == CLI_VERSION
            for step in job["steps"]:
                if "actions/checkout" in step.get("uses", ""):
                    assert step["with"]["persist-credentials"] is False
                assert "${{" not in step.get("run", ""), f"{relative}:{name}: expression in run"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_deploys_of_a_target_never_overlap_or_get_cancelled(platform):
    project = baked(platform, "deploy_model")
    if platform == "github_actions":
        for relative in ci_files(project):
            for name, job in project.yaml(relative)["jobs"].items():
                text = json.dumps(job["steps"])
                writes = re.search(r"bundle (deploy|run|destroy) [^\"]*-t (\w+)", text)
                if writes:
                    assert job["concurrency"] == {
                        "group": f"databricks-{writes.group(2)}",
                        "cancel-in-progress": False,
                    }, f"{relative}:{name}"
    elif platform == "gitlab":
        config = project.yaml(".gitlab-ci.yml")
        for name, job in config.items():
            if isinstance(job, dict) and re.search(r"bundle (deploy|run) ", json.dumps(job)):
                target = re.search(r"-t (\w+)", json.dumps(job.get("script"))).group(1)
                assert job["resource_group"] == f"databricks-{target}", name
                assert job.get("interruptible", False) is False
    else:
        for relative in ci_files(project):
            if relative.startswith(".azure-pipelines/templates/"):
                continue
            pipeline = project.yaml(relative)
            writes = re.search(r"bundle (deploy|run) ", project.read(relative))
            if writes:
                assert pipeline["lockBehavior"] == "sequential", relative
                for stage in pipeline["stages"]:
                    for job in stage["jobs"]:
                        if re.search(r"bundle (deploy|run) ", json.dumps(job)):
                            assert "deployment" in job and job["environment"], relative


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_job_has_a_timeout(platform):
    project = baked(platform, "deploy_model")
    if platform == "github_actions":
        return  # checked with the GitHub permissions above
    if platform == "gitlab":
        config = project.yaml(".gitlab-ci.yml")
        reserved = {"workflow", "stages", "variables", "default", "include"}
        jobs = {k: v for k, v in config.items() if k not in reserved and not k.startswith(".")}
        assert jobs
        for name, job in jobs.items():
            assert re.fullmatch(r"\d+[hm]( \d+m)?", str(job.get("timeout"))), name
        return
    for relative in ci_files(project):
        if relative.startswith(".azure-pipelines/templates/"):
            continue
        for stage in project.yaml(relative)["stages"]:
            for job in stage["jobs"]:
                assert int(job["timeoutInMinutes"]) > 0, (relative, job)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_integration_test_is_always_destroyed(platform):
    project = baked(platform, "deploy_code")
    if platform == "github_actions":
        job = project.yaml(".github/workflows/ci.yml")["jobs"]["integration-test"]
        destroy = [s for s in job["steps"] if "bundle destroy" in s.get("run", "")]
        assert destroy and destroy[0]["if"] == "always()"
        assert job["steps"][-1] is destroy[0]
    elif platform == "gitlab":
        job = project.yaml(".gitlab-ci.yml")["integration-test"]
        assert job["after_script"] == ["databricks bundle destroy -t test --auto-approve"]
    else:
        stages = project.yaml(".azure-pipelines/ci.yml")["stages"]
        steps = stages[-1]["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
        destroy = [s for s in steps if "bundle destroy" in json.dumps(s)]
        assert destroy and destroy[0]["parameters"]["condition"] == "always()"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_short_lived_credentials_and_no_token_in_files(platform):
    for cloud in ("azure", "aws"):
        project = bake(cicd_platform=platform, deployment_pattern="hybrid", cloud=cloud, **BRANCHES)
        text = "\n".join(project.read(f) for f in ci_files(project))
        assert not re.search(r"dapi[0-9a-f]{8,}|DATABRICKS_TOKEN", text)
        assert f'"{CLI_VERSION}"' in text
        if platform == "github_actions":
            assert "DATABRICKS_AUTH_TYPE: github-oidc" in text
            assert "DATABRICKS_CLIENT_SECRET" not in text
        elif platform == "gitlab":
            config = project.yaml(".gitlab-ci.yml")
            base = config[".databricks"]
            assert base["variables"] == {
                "DATABRICKS_AUTH_TYPE": "env-oidc",
                "DATABRICKS_OIDC_TOKEN_ENV": "DATABRICKS_OIDC_TOKEN",
            }
            assert base["id_tokens"]["DATABRICKS_OIDC_TOKEN"]["aud"]
            assert "sha256sum --check" in text
        else:
            # azure-devops-oidc asks the job for a new OIDC token whenever the Databricks token
            # expires, so runs longer than an hour keep their sign-in (the Azure CLI's token does
            # not refresh). databricks-sdk oidc_token_supplier.AzureDevOpsOIDCTokenSupplier reads
            # SYSTEM_ACCESSTOKEN; CLI v1.13.0 has AzureDevOpsOIDCCredentials in its chain
            # (libs/auth/credentials.go) and passes SYSTEM_* to Terraform
            # (bundle/deploy/terraform/init.go).
            step = project.read(".azure-pipelines/templates/databricks-step.yml")
            assert "DATABRICKS_AUTH_TYPE: azure-devops-oidc" in step
            assert "SYSTEM_ACCESSTOKEN: $(System.AccessToken)" in step
            assert "AzureCLI@2" not in text and "azure-cli" not in text
            assert "DATABRICKS_CLIENT_SECRET" not in text


def test_promotion_inputs_reach_scripts_only_through_the_environment():
    for platform in PLATFORMS:
        project = baked(platform, "deploy_model")
        for relative in ci_files(project):
            text = project.read(relative)
            assert not re.search(r"run:.*\$\{\{\s*inputs\.", text), relative
            assert not re.search(r"(script|inlineScript):.*\$\{\{\s*parameters\.source", text)
            for line in text.splitlines():
                if "promotion_job" in line and "--params" in line:
                    assert re.search(r'--params "source_alias=\$\{?\w+\}?,source_version=', line)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_docs_cover_the_chosen_platform_only(platform):
    markers = {
        "github_actions": "token.actions.githubusercontent.com",
        "azure_devops": "vstoken.dev.azure.com",
        "gitlab": "DATABRICKS_OIDC_AUDIENCE",
    }
    for pattern in PATTERNS:
        docs = baked(platform, pattern).read("docs/ci-cd.md")
        assert markers[platform] in docs
        assert not [m for p, m in markers.items() if p != platform and m in docs]
        assert ("promotion_job" in docs) == (pattern != "deploy_code")
        assert "Fallback" in docs


# --- champions on an empty workspace ------------------------------------------------------

# Jobs that load the target's champion; promotion_job loads its source's.
NEEDS_CHAMPION = ("batch_inference_job", "monitoring_job")
# A script that looks the alias up first runs the job only when it exists.
CHAMPION_CHECK = re.compile(r"model-versions get-by-alias \S+ champion")
# The order the pipelines first run in on a new project: pull requests, the first merge, the
# promotion into staging, the first release, the promotion into prod.
EVENTS = (
    ("deploy", "test"),
    ("deploy", "staging"),
    ("promotion_job", "staging"),
    ("deploy", "prod"),
    ("promotion_job", "prod"),
)


def azure_steps(job: dict) -> list[dict]:
    return job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]


def pipeline_jobs(project, platform: str) -> dict[str, list[str]]:
    """The scripts of every CI job, in the order they run, by job name."""
    jobs = {}
    for relative in ci_files(project):
        if relative.startswith(".azure-pipelines/templates/"):
            continue
        document = project.yaml(relative)
        if platform == "github_actions":
            for name, job in document["jobs"].items():
                jobs[f"{relative}:{name}"] = [step.get("run", "") for step in job["steps"]]
        elif platform == "gitlab":
            for name, job in document.items():
                if isinstance(job, dict) and "script" in job:
                    jobs[name] = ["\n".join(job["script"])]
        else:
            for stage in document["stages"]:
                for job in stage["jobs"]:
                    steps = azure_steps(job)
                    scripts = [step.get("parameters", {}).get("script", "") for step in steps]
                    jobs[f"{relative}:{stage['stage']}"] = scripts
    return jobs


def event_of(scripts: list[str]) -> int | None:
    """Where a job comes in EVENTS, from what it deploys or promotes; None for checks only."""
    commands = [c for script in scripts for c in bundle_commands(script)]
    for position, (kind, target) in enumerate(EVENTS):
        if any(t == target and kind in (verb, job) for verb, t, job in commands):
            return position
    return None


def champion_problems(jobs: dict[str, list[str]], sources: dict[str, str]) -> list[str]:
    """Play the pipelines out on an empty workspace, in the order of EVENTS: every job that
    needs a champion runs after a step that made one (training_job, or promotion_job from a
    source that has one), or behind a check that the champion exists."""
    ordered = sorted((e, name) for name, s in jobs.items() if (e := event_of(s)) is not None)
    champions: set[str] = set()
    problems = []
    for _, name in ordered:
        for script in jobs[name]:
            checked = bool(CHAMPION_CHECK.search(script))
            for verb, target, job in bundle_commands(script):
                if verb != "run":
                    continue
                if job == "promotion_job" and sources[target] not in champions:
                    problems.append(
                        f"{name}: promotes into {target} before {sources[target]} has a champion"
                    )
                if job in ("training_job", "promotion_job"):
                    champions.add(target)
                elif job in NEEDS_CHAMPION and target not in champions and not checked:
                    problems.append(f"{name}: runs {job} in {target} before it has a champion")
    return problems


def promotion_sources(project) -> dict[str, str]:
    """For each promotion target, the target whose model it copies: the one deploying the plain
    names (no development mode, no name prefix) into the target's source_catalog."""
    root = project.yaml("databricks.yml")
    targets = root["targets"]

    def variable(target: str, name: str):
        return (targets[target].get("variables") or {}).get(
            name, root["variables"][name]["default"]
        )

    sources = {}
    for target in PROMOTION_TARGETS[project.context["deployment_pattern"]]:
        plain = [
            t
            for t, settings in targets.items()
            if variable(t, "catalog") == variable(target, "source_catalog")
            and settings.get("mode") != "development"
            and not (settings.get("presets") or {}).get("name_prefix")
        ]
        assert len(plain) == 1, (target, plain)
        sources[target] = plain[0]
    return sources


@pytest.mark.parametrize(("platform", "pattern"), COMBOS, ids=COMBO_IDS)
def test_no_job_needs_a_champion_before_a_step_makes_one(platform, pattern):
    """The first merge, the first release and the first promotions work on an empty workspace
    (issue 23): scoring and promotions never wait for a champion nobody made."""
    project = baked(platform, pattern)
    jobs = pipeline_jobs(project, platform)
    assert {event_of(scripts) for scripts in jobs.values()} >= {0, 1, 3}
    assert champion_problems(jobs, promotion_sources(project)) == []


def test_the_champion_check_catches_a_smoke_run_without_a_champion():
    deploy = [
        "databricks bundle deploy -t staging",
        "databricks bundle run batch_inference_job -t staging",
    ]
    promote = ["databricks bundle run promotion_job -t prod --params x"]
    assert champion_problems({"cd": deploy, "promote": promote}, {"prod": "staging"}) == [
        "cd: runs batch_inference_job in staging before it has a champion",
        "promote: promotes into prod before staging has a champion",
    ]
    checked = [
        'if ! databricks model-versions get-by-alias "$m" champion; then exit 0; fi\n' + deploy[1]
    ]
    assert champion_problems({"cd": [deploy[0], *checked]}, {}) == []
