{{- define "model-serving.labels" -}}
{{ toYaml .Values.labels }}
helm.sh/chart: {{ printf "model-serving-%s" .Chart.Version }}
{{- end }}

{{- define "model-serving.selector" -}}
app.kubernetes.io/name: {{ .Values.name }}
app.kubernetes.io/instance: {{ .Values.name }}
{{- end }}

{{- define "model-serving.metadata" -}}
name: {{ .Values.name }}
namespace: {{ .Values.namespace }}
labels:
  {{- include "model-serving.labels" . | nindent 2 }}
{{- with .Values.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "model-serving.probe" -}}
httpGet:
  path: {{ .probe.path }}
  port: http
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}

{{- define "model-serving.podTemplate" -}}
metadata:
  labels:
    app.kubernetes.io/instance: {{ .Values.name }}
    {{- include "model-serving.labels" . | nindent 4 }}
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: model
      image: {{ .Values.image }}
      ports:
        - name: http
          containerPort: {{ .Values.port }}
          protocol: TCP
      {{- if or .Values.env .Values.secretEnv }}
      env:
        {{- range .Values.env }}
        - name: {{ .name }}
          value: {{ .value | quote }}
        {{- end }}
        {{- range .Values.secretEnv }}
        - name: {{ .name }}
          valueFrom:
            secretKeyRef:
              name: {{ .secretName }}
              key: {{ .key | quote }}
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
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
{{- end }}

{{- define "model-serving.workloadKind" -}}
{{- if eq .Values.rollout.strategy "canary" }}Rollout{{ else }}Deployment{{ end }}
{{- end }}
