// The install instructions: every `helm install` in the README and docs/ comes
// after the namespace is created and labelled for Pod Security (the agent
// mounts hostPath volumes and adds NET_RAW, which "baseline" forbids), and none
// uses --create-namespace, which creates the namespace without that label.
import { readFileSync } from 'node:fs';
import t from 'tap';

const FILES = ['README.md', 'docs/deploy.md'];
const LABEL = /kubectl label namespace (\S+) pod-security\.kubernetes\.io\/enforce=privileged/;

for (const file of FILES) {
  t.test(file, async (t) => {
    const blocks = [...readFileSync(file, 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const installs = blocks.filter((b) => /^\s*helm install /m.test(b));
    t.ok(installs.length > 0 || file !== 'README.md', 'the README shows a helm install');
    for (const b of installs) {
      t.notMatch(b, /--create-namespace/, 'no --create-namespace (it leaves the namespace unlabelled)');
      const lines = b.split('\n');
      const install = lines.findIndex((l) => /^\s*helm install /.test(l));
      const ns = /(?:-n|--namespace) (\S+)/.exec(lines[install]!)?.[1];
      const label = lines.slice(0, install).map((l) => LABEL.exec(l)?.[1]).find((x) => x !== undefined);
      t.equal(label, ns, `namespace ${ns} labelled privileged before helm install`);
      t.ok(lines.slice(0, install).some((l) => l.includes(`kubectl create namespace ${ns}`)), `namespace ${ns} created first`);
    }
  });
}
