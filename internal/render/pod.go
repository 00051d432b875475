package render

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// PodInput is what a pod of a release runs.
type PodInput struct {
	App     *tfv1.TwelveFactorApp
	Release *tfv1.Release
	// Process is the process type, or "release" / "run" for admin Jobs.
	Process string
	Command []string
	Port    *int32
	// Resources of the container, if any.
	Resources *corev1.ResourceRequirements
	// RestartPolicy is Always for processes, Never for Jobs.
	RestartPolicy corev1.RestartPolicy
	// ExtraLabels are added to the pod's labels.
	ExtraLabels map[string]string
}

// PodTemplate renders the pod template of a release: Pod Security "restricted",
// a read-only root filesystem with /tmp, release metadata in the environment,
// the release's environment Secret, and each binding projected read-only at
// $SERVICE_BINDING_ROOT/<name>.
func PodTemplate(in PodInput) *corev1ac.PodTemplateSpecApplyConfiguration {
	app, rel := in.App, in.Release
	n := rel.Spec.Number
	labels := ReleaseLabels(app.Name, in.Process, n)
	labels[tfv1.LabelProcess] = in.Process
	for k, v := range in.ExtraLabels {
		labels[k] = v
	}

	env := []*corev1ac.EnvVarApplyConfiguration{}
	if in.Port != nil {
		env = append(env, envVar("PORT", fmt.Sprint(*in.Port)))
	}
	version := fmt.Sprintf("v%d", n)
	env = append(env,
		envVar("RELEASE_VERSION", version),
		envVar("APP_NAME", app.Name),
		envVar("PROCESS_TYPE", in.Process),
		envVar("OTEL_SERVICE_NAME", app.Name),
		envVar("OTEL_RESOURCE_ATTRIBUTES", fmt.Sprintf("service.version=%s,service.instance.process=%s", version, in.Process)),
	)

	mounts := []*corev1ac.VolumeMountApplyConfiguration{
		corev1ac.VolumeMount().WithName("tmp").WithMountPath("/tmp"),
	}
	volumes := []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource()),
	}
	if len(rel.Spec.Bindings) > 0 {
		env = append(env, envVar("SERVICE_BINDING_ROOT", tfv1.DefaultServiceBindingRoot))
	}
	for _, b := range rel.Spec.Bindings {
		vol := "binding-" + b.Name
		volumes = append(volumes, corev1ac.Volume().WithName(vol).
			WithSecret(corev1ac.SecretVolumeSource().WithSecretName(b.SecretName).WithDefaultMode(0o444)))
		mounts = append(mounts, corev1ac.VolumeMount().WithName(vol).
			WithMountPath(tfv1.DefaultServiceBindingRoot+"/"+b.Name).WithReadOnly(true))
		for _, e := range b.Env {
			env = append(env, corev1ac.EnvVar().WithName(e.Name).WithValueFrom(
				corev1ac.EnvVarSource().WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(b.SecretName).WithKey(e.Key))))
		}
	}

	c := corev1ac.Container().
		WithName(in.Process).
		WithImage(rel.Spec.Image).
		WithImagePullPolicy(corev1.PullIfNotPresent).
		WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(rel.Spec.EnvSecretName))).
		WithEnv(env...).
		WithVolumeMounts(mounts...).
		WithSecurityContext(corev1ac.SecurityContext().
			WithAllowPrivilegeEscalation(false).
			WithReadOnlyRootFilesystem(true).
			WithRunAsNonRoot(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	if len(in.Command) > 0 {
		c.WithCommand(in.Command...)
	}
	if in.Port != nil {
		c.WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(*in.Port).WithProtocol(corev1.ProtocolTCP))
		c.WithReadinessProbe(corev1ac.Probe().
			WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString("http"))).
			WithPeriodSeconds(5).WithFailureThreshold(3))
	}
	if in.Resources != nil {
		r := corev1ac.ResourceRequirements()
		if len(in.Resources.Limits) > 0 {
			r.WithLimits(in.Resources.Limits)
		}
		if len(in.Resources.Requests) > 0 {
			r.WithRequests(in.Resources.Requests)
		}
		c.WithResources(r)
	}
	grace, sleep := shutdown(app)
	if in.RestartPolicy == corev1.RestartPolicyAlways && sleep > 0 {
		c.WithLifecycle(corev1ac.Lifecycle().WithPreStop(
			corev1ac.LifecycleHandler().WithSleep(corev1ac.SleepAction().WithSeconds(sleep))))
	}

	spec := corev1ac.PodSpec().
		WithContainers(c).
		WithVolumes(volumes...).
		WithRestartPolicy(in.RestartPolicy).
		WithTerminationGracePeriodSeconds(grace).
		WithAutomountServiceAccountToken(app.Spec.AutomountServiceAccountToken != nil && *app.Spec.AutomountServiceAccountToken).
		WithEnableServiceLinks(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	if app.Spec.ServiceAccountName != "" {
		spec.WithServiceAccountName(app.Spec.ServiceAccountName)
	}
	for _, s := range app.Spec.ImagePullSecrets {
		spec.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(s.Name))
	}
	return corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(spec)
}

func envVar(name, value string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValue(value)
}

func shutdown(app *tfv1.TwelveFactorApp) (grace, sleep int64) {
	grace, sleep = tfv1.DefaultGracePeriodSeconds, tfv1.DefaultPreStopSleepSeconds
	if s := app.Spec.Shutdown; s != nil {
		if s.GracePeriodSeconds != nil {
			grace = *s.GracePeriodSeconds
		}
		if s.PreStopSleepSeconds != nil {
			sleep = *s.PreStopSleepSeconds
		}
	}
	return grace, sleep
}
