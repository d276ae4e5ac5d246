{{- /* Every object, the Service and the pods included, carries the selector labels, so a
ServiceMonitor or PodDisruptionBudget selecting them finds what it means to. */ -}}
{{- define "model-serving.labels" -}}
{{ toYaml .Values.labels }}
app.kubernetes.io/instance: {{ toJson .Values.name }}
helm.sh/chart: {{ printf "model-serving-%s" .Chart.Version | toJson }}
{{- end }}

{{- /* `model` is the model's name, `name` the release's: they differ only for an A/B test's
variant B (`<model>-b`), whose pods must not be selected by variant A's workload or Service. */}}
{{- define "model-serving.selector" -}}
app.kubernetes.io/name: {{ toJson (default .Values.name .Values.model) }}
app.kubernetes.io/instance: {{ toJson .Values.name }}
{{- end }}

{{- /* Metadata of an object named `name` in the release `root` (for objects beside the workload). */}}
{{- define "model-serving.namedMetadata" -}}
name: {{ toJson .name }}
namespace: {{ toJson .root.Values.namespace }}
labels:
  {{- include "model-serving.labels" .root | nindent 2 }}
{{- with .root.Values.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "model-serving.metadata" -}}
{{ include "model-serving.namedMetadata" (dict "root" . "name" .Values.name) }}
{{- end }}

{{- define "model-serving.probe" -}}
httpGet:
  path: {{ toJson .probe.path }}
  port: http
initialDelaySeconds: {{ toJson .probe.initialDelaySeconds }}
periodSeconds: {{ toJson .probe.periodSeconds }}
timeoutSeconds: {{ toJson .probe.timeoutSeconds }}
failureThreshold: {{ toJson .probe.failureThreshold }}
{{- end }}

{{- define "model-serving.podTemplate" -}}
metadata:
  labels:
    {{- include "model-serving.labels" . | nindent 4 }}
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  {{- /* Spread replicas over nodes, so one node's loss or drain takes at most one. */}}
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "model-serving.selector" . | nindent 16 }}
  containers:
    - name: model
      image: {{ toJson .Values.image }}
      ports:
        - name: http
          containerPort: {{ toJson .Values.port }}
          protocol: TCP
      {{- if or .Values.env .Values.secretEnv }}
      env:
        {{- range .Values.env }}
        - name: {{ toJson .name }}
          value: {{ .value | toJson }}
        {{- end }}
        {{- range .Values.secretEnv }}
        - name: {{ toJson .name }}
          valueFrom:
            secretKeyRef:
              name: {{ toJson .secretName }}
              key: {{ .key | toJson }}
        {{- end }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      readinessProbe:
        {{- include "model-serving.probe" (dict "probe" .Values.probes.readiness) | nindent 8 }}
      livenessProbe:
        {{- include "model-serving.probe" (dict "probe" .Values.probes.liveness) | nindent 8 }}
      {{- with .Values.probes.startup }}
      startupProbe:
        {{- include "model-serving.probe" (dict "probe" .) | nindent 8 }}
      {{- end }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsUser: 65532
        runAsGroup: 65532
        capabilities:
          drop: ["ALL"]
{{- end }}

