// Kubernetes node names are DNS-1123 subdomains as Kubernetes validates them
// (IsDNS1123Subdomain): lower-case alphanumerics, '-' and '.', each dot-separated
// part starting and ending alphanumeric, at most 253 characters in all. Unlike
// RFC 1123, Kubernetes sets no 63-character limit per label.
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Subdomain(name: string): boolean {
  return name.length > 0 && name.length <= 253 && SUBDOMAIN.test(name);
}
