// Which container a host process belongs to, from its /proc/<pid>/cgroup: Docker puts each
// container in a cgroup named by its 64-hex ID (cgroup v1: /docker/<id> under every hierarchy;
// cgroup v2 with systemd: /system.slice/docker-<id>.scope). Pure: tested on a real file.

const CONTAINER_ID = /(?:\/docker\/|\/docker-|\/cri-containerd-|\/libpod-)([0-9a-f]{64})(?:\.scope)?(?:\/|$)/;

/** The container ID a process's cgroup file names; undefined for a process of no container. */
export function containerIdOfCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    const match = CONTAINER_ID.exec(path);
    if (match) return match[1];
  }
  return undefined;
}
