{{/* Name prefix of every object: the release name unless overridden. */}}
{{- define "netmatrix.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "netmatrix.tag" -}}
{{- default .Chart.AppVersion .Values.imageTag -}}
{{- end -}}

{{/* Selector labels of a component: include "netmatrix.selectorLabels" (list . "agent") */}}
{{- define "netmatrix.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: netmatrix
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The agents' pod labels as NETMATRIX_AGENT_LABELS wants them: key=value,... (keys sorted). */}}
{{- define "netmatrix.agentLabelsSetting" -}}
{{- $out := list -}}
{{- range $k, $v := include "netmatrix.selectorLabels" (list . "agent") | fromYaml -}}
{{- $out = append $out (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{- define "netmatrix.labels" -}}
{{- $ := index . 0 -}}
{{ include "netmatrix.selectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version }}
{{- end -}}

{{/* Every aggregator replica's stable name, comma-separated (NETMATRIX_AGGREGATOR). */}}
{{- define "netmatrix.aggregatorAddresses" -}}
{{- $name := include "netmatrix.fullname" . -}}
{{- $out := list -}}
{{- range $i := until (int .Values.aggregator.replicas) -}}
{{- $out = append $out (printf "%s-aggregator-%d.%s-aggregator-headless:9400" $name $i $name) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{- define "netmatrix.tlsServerName" -}}
{{- default (printf "%s-aggregator.%s.svc" (include "netmatrix.fullname" .) .Release.Namespace) .Values.tls.serverName -}}
{{- end -}}

{{/* NETMATRIX_PROBE_KINDS: "node" only where the agents' NetworkPolicy lets them reach node IPs. */}}
{{- define "netmatrix.probeKinds" -}}
{{- if .Values.aggregator.probeKinds -}}
{{- .Values.aggregator.probeKinds -}}
{{- else if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.nodeCidrs) -}}
icmp,tcp,http
{{- else -}}
icmp,tcp,http,node
{{- end -}}
{{- end -}}

{{/* aggregator.dnsService (namespace/name) split: the Role's namespace and resourceNames. */}}
{{- define "netmatrix.dnsNamespace" -}}
{{- index (splitList "/" .Values.aggregator.dnsService) 0 -}}
{{- end -}}
{{- define "netmatrix.dnsName" -}}
{{- index (splitList "/" .Values.aggregator.dnsService) 1 -}}
{{- end -}}
