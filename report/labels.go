package report

import (
	"context"

	"estatecrm/ent"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
)

// labels names the groups keys: projects and agents by name, as the
// viewer may read them (one statement for all keys; a name the viewer may
// not read, such as an agent since moved to another project, stays its
// ID); channels by themselves.
func (sp *Spec) labels(ctx context.Context, client *ent.Client, keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	ids := make([]pulid.ID, len(keys))
	for i, k := range keys {
		out[k] = k
		ids[i] = pulid.ID(k)
	}
	if len(keys) == 0 || sp.GroupBy == nil {
		return out, nil
	}
	switch *sp.GroupBy {
	case ByProject:
		ps, err := client.Project.Query().Where(project.IDIn(ids...)).Select(project.FieldID, project.FieldName).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[string(p.ID)] = p.Name
		}
	case ByAgent:
		us, err := client.User.Query().Where(user.IDIn(ids...)).Select(user.FieldID, user.FieldName).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out[string(u.ID)] = u.Name
		}
	}
	return out, nil
}
