// Kubernetes node names are DNS-1123 subdomains: lower-case alphanumerics,
// '-' and '.', each label starting and ending alphanumeric, at most 253 chars.
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Subdomain(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => label.length <= 63 && LABEL.test(label));
}
