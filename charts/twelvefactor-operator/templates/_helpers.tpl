{{/* The chart name, or nameOverride. */}}
{{- define "twelvefactor-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: fullnameOverride, or <release>-<chart>, or
just <release> when it already contains the chart name.
*/}}
{{- define "twelvefactor-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart: <name>-<version>, for the helm.sh/chart label. */}}
{{- define "twelvefactor-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "twelvefactor-operator.labels" -}}
helm.sh/chart: {{ include "twelvefactor-operator.chart" . }}
{{ include "twelvefactor-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: twelvefactor-operator
{{- end }}

{{/* Labels that select the manager pods. Never change them: Deployment selectors are immutable. */}}
{{- define "twelvefactor-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "twelvefactor-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/* The ServiceAccount the manager runs as. */}}
{{- define "twelvefactor-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "twelvefactor-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The manager image: repository@digest, or repository:tag (tag defaults to appVersion). */}}
{{- define "twelvefactor-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Whether the manager runs with --leader-elect. */}}
{{- define "twelvefactor-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}
